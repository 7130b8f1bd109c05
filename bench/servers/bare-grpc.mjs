/**
 * The transport ceiling: a bare grpc-js server whose Check answers OK
 * without looking at the request (raw bytes in, one pre-encoded
 * CheckResponse out). Usage: node bare-grpc.mjs --port P --http-port H
 * (`/ready` answers 200 once the gRPC port is bound).
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'http-port': { type: 'string' } } });

// CheckResponse{status: {code: 0}, ok_response: {}}: field 1 and field 3, both empty messages.
const OK = Buffer.from([0x0a, 0x00, 0x1a, 0x00]);

const service = {
  Check: {
    path: '/envoy.service.auth.v3.Authorization/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};

const server = new grpc.Server();
server.addService(service, { Check: (_call, callback) => callback(null, OK) });
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
