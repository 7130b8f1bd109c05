// Spans from a real in-process sidecar through the real Node SDK, kept by an in-memory exporter:
// their shape, their parents (traceparent and B3 headers inside the messages), and the decision log's trace ids.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import t, { type Test } from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import type { DecisionSink } from '../../../src/telemetry/decision-log.js';
import { Logger } from '../../../src/telemetry/log.js';
import { CHECK_SPAN, PROCESS_SPAN, startTracing } from '../../../src/telemetry/tracing.js';
import { buildBundle, FIXTURES, tempDir } from '../../helpers/bundles.js';
import { authzClient, check, checkRaw } from '../../helpers/grpc.js';
import { exchange, headerMap } from './extproc-client.js';

// Read by the SDK at start: W3C and both B3 encodings.
process.env['OTEL_PROPAGATORS'] = 'tracecontext,baggage,b3';
const exporter = new InMemorySpanExporter();
const tracing = await startTracing('test', { spanProcessors: [new SimpleSpanProcessor({ exporter })] });
t.teardown(() => tracing.shutdown());

const SERVER = 1; // SpanKind.SERVER
const ERROR = 2; // SpanStatusCode.ERROR
const dir = tempDir();
const basic = buildBundle('basic', join(dir, 'basic.tar.gz'), { revision: 'r1' });
const errors = buildBundle('errors', join(dir, 'errors.tar.gz'));
const lua = (name: string) => JSON.stringify(join(FIXTURES, 'lua-e2e', name));

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const http = (path: string, headers: Record<string, string> = {}) => ({
  attributes: { request: { http: { method: 'GET', path, host: 'example.com', headers } } },
});

/** Keeps decision-log lines in memory. */
class Lines implements DecisionSink {
  readonly lines: string[] = [];
  async write(lines: readonly string[]): Promise<void> {
    this.lines.push(...lines);
  }
  async close(): Promise<void> {}
  async entries(n: number): Promise<any[]> {
    while (this.lines.length < n) await new Promise((r) => setTimeout(r, 5));
    return this.lines.map((l) => JSON.parse(l));
  }
}

async function start(bundle: string, yaml = '', sink?: DecisionSink): Promise<RunningServer> {
  const config = parseConfig(
    `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\n${yaml}`,
    'test.yaml',
  );
  return startServer(config, new Logger('error', config.log.mask_headers, () => undefined), { tracing, ...(sink ? { decisionLogSink: sink } : {}) });
}

/** A sidecar and an ext_authz client for one test, closed with it; spans so far are discarded. */
async function authzFor(t: Test, bundle: string, yaml = '', sink?: DecisionSink): Promise<ReturnType<typeof authzClient>> {
  const server = await start(bundle, yaml, sink);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  take();
  return client;
}

/** The spans finished since the last call. */
function take(): ReadableSpan[] {
  const spans = exporter.getFinishedSpans();
  exporter.reset();
  return spans;
}

const decisionIdOf = (res: any): string => res.response.dynamicMetadata.fields.decision_id.stringValue;

t.test('a Check joins the trace of its traceparent header; the decision log carries the ids', async (t) => {
  const sink = new Lines();
  const client = await authzFor(t, basic, 'decision_logs: {enabled: true}', sink);

  const traceId = hex(16);
  const parent = hex(8);
  const allowed = await check(client, http('/x', { traceparent: `00-${traceId}-${parent}-01` }));
  const denied = await check(client, http('/deny', { traceparent: `00-${traceId}-${parent}-01` }));
  const spans = take();
  t.equal(spans.length, 2);
  const [a, d] = spans as [ReadableSpan, ReadableSpan];
  t.equal(a.name, CHECK_SPAN);
  t.equal(a.kind, SERVER);
  t.equal(a.spanContext().traceId, traceId, 'the request trace');
  t.equal(a.parentSpanContext?.spanId, parent, 'a child of the span in traceparent');
  t.same(a.attributes, {
    'rpc.system': 'grpc',
    'rpc.service': 'envoy.service.auth.v3.Authorization',
    'rpc.method': 'Check',
    'rpc.grpc.status_code': 0,
    'iacdash.decision_id': decisionIdOf(allowed),
    'iacdash.policy.path': 'envoy/authz/allow',
    'iacdash.decision': 'allowed',
    'iacdash.bundle.revision': 'r1',
  });
  t.equal(a.status.code, 0, 'status unset');
  t.match(d.attributes, { 'iacdash.decision': 'denied', 'iacdash.http.status_code': 429, 'iacdash.decision_id': decisionIdOf(denied) });
  t.notOk('error.type' in d.attributes, 'a denial is not an error');
  t.equal(d.status.code, 0);
  t.equal(a.resource.attributes['service.name'], 'iacdash', 'the default service name');

  const entries = await sink.entries(2);
  t.equal(entries[0].trace_id, traceId);
  t.equal(entries[0].span_id, a.spanContext().spanId, 'the Check span');
  t.equal(entries[1].span_id, d.spanContext().spanId);
  t.equal(entries[0].decision_id, decisionIdOf(allowed));
});

t.test('B3 headers, single and multi, give the parent as well', async (t) => {
  const client = await authzFor(t, basic);

  const single = { traceId: hex(16), spanId: hex(8) };
  const multi = { traceId: hex(16), spanId: hex(8) };
  await check(client, http('/x', { b3: `${single.traceId}-${single.spanId}-1` }));
  await check(client, http('/x', { 'x-b3-traceid': multi.traceId, 'x-b3-spanid': multi.spanId, 'x-b3-sampled': '1' }));
  await check(client, http('/x'));
  const [s, m, root] = take() as [ReadableSpan, ReadableSpan, ReadableSpan];
  t.equal(s.spanContext().traceId, single.traceId);
  t.equal(s.parentSpanContext?.spanId, single.spanId);
  t.equal(m.spanContext().traceId, multi.traceId);
  t.equal(m.parentSpanContext?.spanId, multi.spanId);
  t.equal(root.parentSpanContext, undefined, 'no trace header: a new trace');
  t.not(root.spanContext().traceId, single.traceId);
});

t.test('an unsampled parent: no span is recorded, the decision log still has the trace id', async (t) => {
  const sink = new Lines();
  const client = await authzFor(t, basic, 'decision_logs: {enabled: true}', sink);

  const traceId = hex(16);
  await check(client, http('/x', { traceparent: `00-${traceId}-${hex(8)}-00` }));
  const [entry] = await sink.entries(1);
  t.same(take(), [], 'parent-based sampling (the default) follows the flag');
  t.equal(entry.trace_id, traceId);
});

t.test('failed decisions: error.type is the error code, our failures mark the span as an error', async (t) => {
  const deny = await start(errors);
  t.teardown(() => deny.close());
  const client = authzClient(deny.grpcPort);
  t.teardown(() => client.close());
  const grpcError = await start(errors, 'authz: {failure_mode: grpc-error}');
  t.teardown(() => grpcError.close());
  const client2 = authzClient(grpcError.grpcPort);
  t.teardown(() => client2.close());
  take();

  await check(client, http('/undefined'));
  await check(client, { attributes: { request: { http: { method: 'GET', path: '/%zz', headers: {} } } } });
  t.equal((await check(client2, http('/undefined'))).error?.code, 2);
  t.equal((await checkRaw(client2, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).error?.code, 3);
  const [failed, refused, asGrpc, malformed] = take() as ReadableSpan[] as [ReadableSpan, ReadableSpan, ReadableSpan, ReadableSpan];
  t.match(failed.attributes, { 'error.type': 'undefined_decision', 'iacdash.decision': 'denied', 'iacdash.http.status_code': 403, 'rpc.grpc.status_code': 0 });
  t.same(failed.status, { code: ERROR, message: 'undefined_decision' });
  t.match(refused.attributes, { 'error.type': 'request_parse_error', 'iacdash.http.status_code': 400 });
  t.equal(refused.status.code, 0, 'bad client input is not our error');
  t.match(asGrpc.attributes, { 'error.type': 'undefined_decision', 'rpc.grpc.status_code': 2 });
  t.notOk('iacdash.decision' in asGrpc.attributes, 'no answer, no decision');
  t.match(malformed.attributes, { 'error.type': 'request_malformed', 'rpc.grpc.status_code': 3 });
  t.notOk('iacdash.bundle.revision' in malformed.attributes);
});

t.test('an ext_proc stream: one span, an event per message, the script and its outcome', async (t) => {
  const server = await start(
    basic,
    `extproc:
  poll_interval_ms: 0
  scripts:
    - {name: hdr, file: ${lua('headers.lua')}, match: {path_prefix: /hdr}}
    - {name: respond, file: ${lua('respond.lua')}, match: {path_prefix: /respond}}
    - {name: fails, file: ${lua('fails.lua')}, match: {path_prefix: /fail/}}
`,
  );
  t.teardown(() => server.close());
  take();

  const traceId = hex(16);
  const parent = hex(8);
  const request = (path: string) => ({
    requestHeaders: { headers: headerMap({ ':path': path, ':method': 'GET', ':authority': 'example.com', traceparent: `00-${traceId}-${parent}-01` }), endOfStream: true },
  });
  const answers = await exchange(server.grpcPort, [request('/hdr/a'), { responseHeaders: { headers: headerMap({ ':status': '200' }), endOfStream: true } }]);
  t.equal(answers.length, 2);
  let [span] = take() as [ReadableSpan];
  t.equal(span.name, PROCESS_SPAN);
  t.equal(span.kind, SERVER);
  t.equal(span.spanContext().traceId, traceId);
  t.equal(span.parentSpanContext?.spanId, parent, 'parent from the request headers message');
  t.same(span.attributes, {
    'rpc.system': 'grpc',
    'rpc.service': 'envoy.service.ext_proc.v3.ExternalProcessor',
    'rpc.method': 'Process',
    'rpc.grpc.status_code': 0,
    'iacdash.extproc.messages': 2,
    'iacdash.script.name': 'hdr',
  });
  t.same(span.events.map((e) => [e.name, e.attributes]), [
    ['request_headers', { 'iacdash.extproc.outcome': 'ok' }],
    ['response_headers', { 'iacdash.extproc.outcome': 'ok' }],
  ]);

  await exchange(server.grpcPort, [request('/respond/deny')]);
  [span] = take() as [ReadableSpan];
  t.match(span.attributes, { 'iacdash.script.name': 'respond', 'iacdash.http.status_code': 403, 'iacdash.extproc.messages': 1 });
  t.same(span.events.map((e) => [e.name, e.attributes]), [['request_headers', { 'iacdash.extproc.outcome': 'responded' }]]);
  t.equal(span.status.code, 0, 'a script reply is not an error');

  await exchange(server.grpcPort, [request('/fail/error')]);
  [span] = take() as [ReadableSpan];
  t.match(span.attributes, { 'iacdash.script.name': 'fails', 'iacdash.http.status_code': 500, 'error.type': 'lua_error' });
  t.same(span.status, { code: ERROR, message: 'lua_error' });
  t.same(span.events.map((e) => e.attributes), [{ 'iacdash.extproc.outcome': 'lua_error' }]);
});

t.test('a malformed ext_proc message: an event, the error code on the span', async (t) => {
  const server = await start(basic);
  t.teardown(() => server.close());
  take();
  // request_headers whose one header name is the byte 0xff: not UTF-8.
  const answers = await exchange(server.grpcPort, [Buffer.from([0x12, 0x07, 0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff])]);
  t.equal(answers[0].immediateResponse.status.code, 400);
  const [span] = take() as [ReadableSpan];
  t.equal(span.parentSpanContext, undefined);
  t.match(span.attributes, { 'error.type': 'request_invalid_utf8', 'iacdash.http.status_code': 400 });
  t.same(span.events.map((e) => [e.name, e.attributes]), [['malformed', { 'iacdash.extproc.outcome': 'request_invalid_utf8' }]]);
  t.equal(span.status.code, 0, 'bad client input is not our error');
});
