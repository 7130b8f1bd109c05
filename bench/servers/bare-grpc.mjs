/**
 * The transport ceiling: a bare grpc-js server that answers without
 * decoding. Check answers OK (raw bytes in, one pre-encoded CheckResponse
 * out); ext_proc's Process answers each ProcessingRequest with an empty
 * CONTINUE for the phase it got, found by reading the top-level tags only.
 * Usage: node bare-grpc.mjs --port P --http-port H (`/ready` answers 200
 * once the gRPC port is bound).
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'http-port': { type: 'string' } } });

// CheckResponse{status: {code: 0}, ok_response: {}}: field 1 and field 3, both empty messages.
const OK = Buffer.from([0x0a, 0x00, 0x1a, 0x00]);

/**
 * ProcessingResponse per ProcessingRequest oneof field: the request's
 * request_headers (2) … response_trailers (7) are answered by the
 * response's field one lower, request_headers (1) … response_trailers (6),
 * an empty HeadersResponse/BodyResponse/TrailersResponse: CONTINUE, no
 * mutation. https://www.envoyproxy.io/docs/envoy/latest/api-v3/service/ext_proc/v3/external_processor.proto
 */
const CONTINUE = [];
for (let field = 2; field <= 7; field++) CONTINUE[field] = Buffer.from([((field - 1) << 3) | 2, 0x00]);

/** Reads a varint at `pos`: [value, next pos]. Tags and lengths here stay far below 2^28. */
function varint(buf, pos) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, pos];
}

/**
 * The ProcessingRequest's oneof field number (2–7), or 0. Envoy writes it
 * first, so this reads one tag; other fields (metadata, attributes,
 * protocol config) are skipped by wire type, never decoded.
 */
function phaseOf(buf) {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, next] = varint(buf, pos);
    const field = tag >>> 3;
    if (field >= 2 && field <= 7) return field;
    const wire = tag & 7;
    if (wire === 0) [, pos] = varint(buf, next);
    else if (wire === 1) pos = next + 8;
    else if (wire === 2) {
      const [len, start] = varint(buf, next);
      pos = start + len;
    } else if (wire === 5) pos = next + 4;
    else return 0;
  }
  return 0;
}

const raw = { requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
const authorization = { Check: { path: '/envoy.service.auth.v3.Authorization/Check', requestStream: false, responseStream: false, ...raw } };
const externalProcessor = { Process: { path: '/envoy.service.ext_proc.v3.ExternalProcessor/Process', requestStream: true, responseStream: true, ...raw } };

/** One stream per HTTP request: CONTINUE each message, end when Envoy half-closes. */
function processStream(call) {
  call.on('data', (buf) => {
    const response = CONTINUE[phaseOf(buf)];
    // grpc-js turns an 'error' on a server stream into its status.
    if (response) call.write(response);
    else call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'no ProcessingRequest phase in the message' });
  });
  call.on('end', () => call.end());
}

const server = new grpc.Server();
server.addService(authorization, { Check: (_call, callback) => callback(null, OK) });
server.addService(externalProcessor, { Process: processStream });
let bound = false;
server.bindAsync(`127.0.0.1:${values.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`${JSON.stringify({ msg: 'bind failed', error: err.message })}\n`);
    process.exit(1);
  }
  bound = true;
  process.stderr.write(`${JSON.stringify({ msg: 'listening', grpc: port })}\n`);
});
createServer((req, res) => {
  res.writeHead(bound && req.url === '/ready' ? 200 : 503).end();
}).listen(Number(values['http-port']), '127.0.0.1');
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
