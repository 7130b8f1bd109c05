// Tracing off costs nothing: a sidecar serving Checks and ext_proc streams (with trace headers) loads no
// OpenTelemetry module at all, and its decision log has no trace ids. Its own process: module caches are per process.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { startServer } from '../../../src/server/server.js';
import type { DecisionSink } from '../../../src/telemetry/decision-log.js';
import { Logger } from '../../../src/telemetry/log.js';
import { buildBundle, FIXTURES, tempDir } from '../../helpers/bundles.js';
import { authzClient, check } from '../../helpers/grpc.js';
import { exchange, headerMap } from './extproc-client.js';

const bundle = buildBundle('basic', join(tempDir(), 'basic.tar.gz'), { revision: 'r1' });
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** OpenTelemetry packages this process has loaded (ESM imports of these CommonJS packages go through the CommonJS cache). */
function otelModules(): string[] {
  const loaded = Object.keys(createRequire(import.meta.url).cache);
  return [...new Set(loaded.filter((f) => f.includes('/node_modules/@opentelemetry/')).map((f) => f.split('/node_modules/')[1]!.split('/').slice(0, 2).join('/')))];
}

async function serve(t: Test, yaml: string, logs: string[] = []): Promise<string[]> {
  const lines: string[] = [];
  const sink: DecisionSink = { write: async (l) => void lines.push(...l), close: async () => undefined };
  const config = parseConfig(
    `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}
decision_logs: {enabled: true}
extproc: {poll_interval_ms: 0, scripts: [{name: hdr, file: ${JSON.stringify(join(FIXTURES, 'lua-e2e', 'headers.lua'))}}]}
${yaml}`,
    'test.yaml',
  );
  const server = await startServer(config, new Logger('info', [], (l) => void logs.push(l)), { decisionLogSink: sink });
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  for (const path of ['/x', '/deny']) {
    await check(client, { attributes: { request: { http: { method: 'GET', path, headers: { traceparent: TRACEPARENT, b3: '0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1' } } } } });
  }
  const answers = await exchange(server.grpcPort, [
    { requestHeaders: { headers: headerMap({ ':path': '/a', ':method': 'GET', ':authority': 'x', traceparent: TRACEPARENT }), endOfStream: true } },
  ]);
  t.ok(answers[0].requestHeaders, 'the stream was served');
  while (lines.length < 2) await new Promise((r) => setTimeout(r, 5));
  return lines;
}

t.test('tracing off (the default): no OpenTelemetry module loaded, no trace ids logged', async (t) => {
  const lines = await serve(t, '');
  // prom-client's process metrics load @opentelemetry/api (for exemplars) whatever the tracing; nothing else may be loaded.
  t.same(otelModules().filter((m) => m !== '@opentelemetry/api'), [], 'no SDK, exporter or propagator');
  for (const line of lines) {
    const entry = JSON.parse(line);
    t.notOk('trace_id' in entry || 'span_id' in entry, 'no trace ids');
  }
});

t.test('tracing on in the config, OTEL_SDK_DISABLED=true: the SDK is not started', async (t) => {
  process.env['OTEL_SDK_DISABLED'] = 'true';
  t.teardown(() => delete process.env['OTEL_SDK_DISABLED']);
  const logs: string[] = [];
  const lines = await serve(t, 'telemetry: {tracing: {enabled: true}}', logs);
  t.notOk(otelModules().includes('@opentelemetry/sdk-node'), 'the SDK is never imported');
  t.notOk(otelModules().includes('@opentelemetry/sdk-trace'));
  t.ok(logs.some((l) => l.includes('"msg":"tracing off"') && l.includes('OTEL_SDK_DISABLED=true')), 'says why');
  t.notOk('trace_id' in JSON.parse(lines[0]!));
});
