// Spans and OTLP decision logs reach a real OpenTelemetry Collector and are read back from its file exporter.
// A client's traceparent / B3 headers go through a real Envoy (ext_authz, then ext_proc) into the messages
// iacdash gets; our spans must join that trace. The sidecar is a child process configured by OTEL_* alone.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildBundle, FIXTURES, tempDir } from '../helpers/bundles.js';
import { authzClient, check } from '../helpers/grpc.js';
import { startCollector, type Collector, type CollectedLog, type CollectedSpan } from '../helpers/otelcol.js';
import { startSidecar, type Sidecar } from '../helpers/sidecar.js';
import { bootstrap, cluster, extAuthzFilter, extProcFilter, listener, request, routerFilter, startEchoUpstream, startEnvoy } from './harness/index.js';

const bundle = buildBundle('basic', join(tempDir(), 'basic.tar.gz'), { revision: 'r1' });
const SERVER = 2; // OTLP SpanKind SPAN_KIND_SERVER
const CHECK = 'envoy.service.auth.v3.Authorization/Check';
const PROCESS = 'envoy.service.ext_proc.v3.ExternalProcessor/Process';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function collector(t: Test): Promise<Collector> {
  const c = await startCollector();
  t.teardown(() => c.stop());
  return c;
}

async function sidecar(t: Test, env: NodeJS.ProcessEnv): Promise<Sidecar> {
  const s = await startSidecar(
    `bundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}
telemetry: {tracing: {enabled: true}}
decision_logs: {enabled: true, sink: otlp}
extproc:
  poll_interval_ms: 0
  scripts: [{name: hdr, file: ${JSON.stringify(join(FIXTURES, 'lua-e2e', 'headers.lua'))}, match: {path_prefix: /hdr}}]
`,
    // Spans leave within 100 ms instead of the SDK's 5 s.
    { env: { OTEL_BSP_SCHEDULE_DELAY: '100', ...env } },
  );
  t.teardown(() => s.stop());
  return s;
}

/** RFC 3339 with up to nine fraction digits → epoch ns, as a decimal string. */
function nanosOf(timestamp: string): string {
  const [, whole, frac = ''] = /^(.*?:\d\d)(?:\.(\d+))?Z$/.exec(timestamp)!;
  return String(BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(frac.padEnd(9, '0')));
}

const byName = (spans: CollectedSpan[], name: string, traceId: string) => spans.filter((s) => s.name === name && s.traceId === traceId);

t.test('through Envoy: Check and ext_proc spans join the client trace; decision logs arrive as OTLP logs', async (t) => {
  const otel = await collector(t);
  const iacdash = await sidecar(t, {
    OTEL_EXPORTER_OTLP_ENDPOINT: otel.httpEndpoint,
    OTEL_SERVICE_NAME: 'iacdash-e2e',
    OTEL_PROPAGATORS: 'tracecontext,baggage,b3multi',
  });
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const envoy = await startEnvoy({
    name: 'tracing',
    config: bootstrap({
      listeners: [
        listener(0, [
          extAuthzFilter({ clusterName: 'iacdash', timeoutMs: 5000 }),
          extProcFilter({ clusterName: 'iacdash', messageTimeoutMs: 5000, processingMode: { requestHeaderMode: 'SEND', responseHeaderMode: 'SEND', requestBodyMode: 'NONE', responseBodyMode: 'NONE' } }),
          routerFilter(),
        ], 'upstream', { name: 'ingress' }),
      ],
      clusters: [cluster('upstream', upstream.port), cluster('iacdash', iacdash.grpcPort, { http2: true })],
    }),
  });
  t.teardown(() => envoy.stop());
  const port = envoy.listenerPorts['ingress']!;

  const w3c = { traceId: hex(16), parent: hex(8) };
  const b3 = { traceId: hex(16), parent: hex(8) };
  const ok = await request(port, { path: '/hdr/a', headers: { traceparent: `00-${w3c.traceId}-${w3c.parent}-01` } });
  t.equal(ok.status, 200);
  t.equal(upstream.requests.at(-1)?.headers['x-added'], 'yes', 'the script ran');
  const denied = await request(port, { path: '/deny', headers: { 'x-b3-traceid': b3.traceId, 'x-b3-spanid': b3.parent, 'x-b3-sampled': '1' } });
  t.equal(denied.status, 429);

  const spans = await otel.waitFor(
    () => otel.spans(),
    (s) => byName(s, CHECK, w3c.traceId).length === 1 && byName(s, PROCESS, w3c.traceId).length === 1 && byName(s, CHECK, b3.traceId).length === 1,
  );
  const [checkSpan] = byName(spans, CHECK, w3c.traceId) as [CollectedSpan];
  t.equal(checkSpan.parentSpanId, w3c.parent, 'the Check span is a child of the client span');
  t.equal(checkSpan.kind, SERVER);
  t.match(checkSpan.attributes, {
    'rpc.system': 'grpc',
    'rpc.service': 'envoy.service.auth.v3.Authorization',
    'rpc.method': 'Check',
    'rpc.grpc.status_code': 0,
    'iacdash.decision': 'allowed',
    'iacdash.policy.path': 'envoy/authz/allow',
    'iacdash.bundle.revision': 'r1',
    'iacdash.decision_id': /^[0-9a-f-]{36}$/,
  });
  t.equal(checkSpan.resource['service.name'], 'iacdash-e2e', 'OTEL_SERVICE_NAME');
  t.match(checkSpan.scope, { name: 'iacdash' });

  const [streamSpan] = byName(spans, PROCESS, w3c.traceId) as [CollectedSpan];
  t.equal(streamSpan.parentSpanId, w3c.parent, 'the ext_proc span joins the same trace, from the request headers message');
  t.equal(streamSpan.kind, SERVER);
  t.match(streamSpan.attributes, { 'iacdash.script.name': 'hdr', 'iacdash.extproc.messages': 2 });
  t.same(streamSpan.events.map((e) => [e.name, e.attributes]), [
    ['request_headers', { 'iacdash.extproc.outcome': 'ok' }],
    ['response_headers', { 'iacdash.extproc.outcome': 'ok' }],
  ]);

  const [deniedSpan] = byName(spans, CHECK, b3.traceId) as [CollectedSpan];
  t.equal(deniedSpan.parentSpanId, b3.parent, 'B3 multi-header parent');
  t.match(deniedSpan.attributes, { 'iacdash.decision': 'denied', 'iacdash.http.status_code': 429 });

  const logs = await otel.waitFor(() => otel.logs(), (l) => l.length >= 2);
  t.equal(logs.length, 2, 'one record per Check');
  const logOf = (traceId: string) => logs.find((l) => l.traceId === traceId) as CollectedLog;
  for (const [span, log] of [[checkSpan, logOf(w3c.traceId)], [deniedSpan, logOf(b3.traceId)]] as const) {
    t.ok(log, 'a log record with the trace id');
    t.equal(log.spanId, span.spanId, "the record's span is the Check span");
    t.equal(log.eventName, 'iacdash.decision');
    t.equal(log.severityText, 'INFO');
    t.equal(log.resource['service.name'], 'iacdash-e2e');
    const entry = JSON.parse(log.body as string);
    t.equal(entry.decision_id, span.attributes['iacdash.decision_id'], 'the body is the OPA decision-log entry');
    t.equal(log.attributes['iacdash.decision_id'], entry.decision_id);
    t.equal(entry.trace_id, span.traceId);
    t.equal(entry.span_id, span.spanId);
    t.same(entry.bundles, { iacdash: { revision: 'r1' } });
    t.equal(log.timeUnixNano, nanosOf(entry.timestamp), "the record's time is the entry's timestamp");
  }
});

t.test('OTLP over gRPC: OTEL_EXPORTER_OTLP_PROTOCOL=grpc for spans and decision logs alike', async (t) => {
  const otel = await collector(t);
  const iacdash = await sidecar(t, { OTEL_EXPORTER_OTLP_ENDPOINT: otel.grpcEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  const client = authzClient(iacdash.grpcPort);
  t.teardown(() => client.close());
  const traceId = hex(16);
  const res = await check(client, { attributes: { request: { http: { method: 'GET', path: '/x', headers: { traceparent: `00-${traceId}-${hex(8)}-01` } } } } });
  t.equal(res.response.status.code, 0);
  const [span] = await otel.waitFor(() => byName(otel.spans(), CHECK, traceId), (s) => s.length === 1);
  const [log] = await otel.waitFor(() => otel.logs(), (l) => l.length === 1);
  t.equal(span!.resource['service.name'], 'iacdash', 'the default service name');
  t.equal(log!.traceId, traceId);
  t.equal(log!.spanId, span!.spanId);
});
