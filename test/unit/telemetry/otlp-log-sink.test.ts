// The `otlp` decision-log sink: record shape through the real logs SDK, one export per batch, and failures
// (a failing exporter, an unreachable collector) dropped and counted without slowing decisions.
import { join } from 'node:path';
import { InMemoryLogRecordExporter, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { startServer } from '../../../src/server/server.js';
import { DecisionLogger, type DecisionRecord } from '../../../src/telemetry/decision-log.js';
import { Logger } from '../../../src/telemetry/log.js';
import { EXPORT_BATCH, exporterFromEnv, OtlpLogSink } from '../../../src/telemetry/otlp-log-sink.js';
import { freePort } from '../../e2e/harness/ports.js';
import { buildBundle, tempDir } from '../../helpers/bundles.js';
import { authzClient, check } from '../../helpers/grpc.js';
import { scrape, value } from './scrape.js';

const TRACE = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

function record(i: number, trace?: typeof TRACE): DecisionRecord {
  return { decisionId: `id-${i}`, path: 'envoy/authz/allow', input: { i }, result: true, wallMs: 1_767_225_600_123.456, handlerNs: 1000, trace };
}

/** Counts export calls, keeps the records. */
class Counting extends InMemoryLogRecordExporter {
  calls: number[] = [];
  override export(logs: ReadableLogRecord[], done: Parameters<LogRecordExporter['export']>[1]): void {
    this.calls.push(logs.length);
    super.export(logs, done);
  }
}

t.test('an entry becomes one log record: the JSON line as body, the Check span as context', async (t) => {
  const exporter = new Counting();
  const sink = new OtlpLogSink('1.2.3', exporter);
  const line = '{"decision_id":"id-1","n":12345678901234567890}\n';
  await sink.write([line, '{"decision_id":"id-2"}\n'], [record(1, TRACE), record(2)]);
  const [first, second] = exporter.getFinishedLogRecords() as [ReadableLogRecord, ReadableLogRecord];
  t.equal(first.body, line.trimEnd(), 'the exact line, big numbers verbatim, no newline');
  t.equal(first.eventName, 'iacdash.decision');
  t.equal(first.severityText, 'INFO');
  t.equal(first.severityNumber, 9);
  t.same(first.attributes, { 'iacdash.decision_id': 'id-1', 'iacdash.policy.path': 'envoy/authz/allow' });
  t.match(first.spanContext, { traceId: TRACE.traceId, spanId: TRACE.spanId, traceFlags: 1 });
  t.equal(second.spanContext, undefined, 'no trace: no context');
  t.same(first.hrTime, [1_767_225_600, 123_456_000], 'the decision time, not the export time');
  t.equal(first.resource.attributes['service.name'], 'iacdash');
  t.same([first.instrumentationScope.name, first.instrumentationScope.version], ['iacdash.decision_logs', '1.2.3']);
  await sink.close();
});

t.test(`a batch goes out in exports of at most ${EXPORT_BATCH} records`, async (t) => {
  const exporter = new Counting();
  const sink = new OtlpLogSink('1', exporter);
  const n = EXPORT_BATCH * 2 + 76;
  await sink.write(Array.from({ length: n }, (_, i) => `{"i":${i}}\n`), Array.from({ length: n }, (_, i) => record(i)));
  t.same(exporter.calls, [EXPORT_BATCH, EXPORT_BATCH, 76]);
  t.same(exporter.getFinishedLogRecords().map((r) => JSON.parse(r.body as string).i), Array.from({ length: n }, (_, i) => i), 'in order');
  await sink.close();
});

t.test('a failed export rejects the write: the logger counts the entries as dropped', async (t) => {
  const failing: LogRecordExporter = {
    export: (_logs, done) => done({ code: 1, error: new Error('collector said no') }),
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
  const sink = new OtlpLogSink('1', failing);
  await t.rejects(sink.write(['{}\n'], [record(1)]), /collector said no/);
  let dropped = 0;
  let written = 0;
  const logger = new DecisionLogger({ sink, queueSize: 10, bundleName: 'b', version: '1', onDropped: (n) => (dropped += n), onWritten: (n) => (written += n) });
  logger.log(record(1));
  logger.log(record(2));
  while (dropped < 2) await new Promise((r) => setTimeout(r, 5));
  t.equal(dropped, 2);
  t.equal(written, 0);
  await logger.close();
});

t.test('the protocol comes from OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL', async (t) => {
  // The three packages all name their class OTLPLogExporter; tell them apart by the module that defined it.
  const from = async (env: NodeJS.ProcessEnv) => {
    const exporter = await exporterFromEnv(env);
    await exporter.shutdown();
    for (const pkg of ['grpc', 'http', 'proto'] as const) {
      const mod = await import(`@opentelemetry/exporter-logs-otlp-${pkg}`);
      if (exporter instanceof mod.OTLPLogExporter) return pkg;
    }
    return 'unknown';
  };
  t.equal(await from({}), 'proto', 'http/protobuf by default, as the SDK');
  t.equal(await from({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), 'grpc');
  t.equal(await from({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }), 'http', 'the logs-specific variable wins');
  await t.rejects(exporterFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' }), { code: 'config_invalid', message: /OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: expected grpc, http\/protobuf or http\/json, got "udp"/ });
});

t.test('a bad protocol variable stops the sidecar at startup, not at the first entry', async (t) => {
  process.env['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL'] = 'http/xml';
  t.teardown(() => delete process.env['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL']);
  const config = parseConfig('server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nbundle: {path: x.tar.gz}\ndecision_logs: {enabled: true, sink: otlp}\n', 'test.yaml');
  await t.rejects(startServer(config, new Logger('error', [], () => undefined)), { code: 'config_invalid', message: /OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: .*got "http\/xml"/ });
});

t.test('an unreachable collector: Checks are answered, entries dropped and counted', async (t) => {
  const closed = await freePort();
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = `http://127.0.0.1:${closed}`;
  process.env['OTEL_EXPORTER_OTLP_TIMEOUT'] = '300';
  t.teardown(() => {
    delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    delete process.env['OTEL_EXPORTER_OTLP_TIMEOUT'];
  });
  const bundle = buildBundle('basic', join(tempDir(), 'basic.tar.gz'));
  const config = parseConfig(
    `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\ndecision_logs: {enabled: true, sink: otlp}\n`,
    'test.yaml',
  );
  const server = await startServer(config, new Logger('error', [], () => undefined));
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  t.equal((await check(client, { attributes: { request: { http: { method: 'GET', path: '/x', headers: {} } } } })).response.status.code, 0);
  t.equal((await check(client, { attributes: { request: { http: { method: 'GET', path: '/deny', headers: {} } } } })).response.status.code, 7);
  for (;;) {
    const { families } = await scrape(server.httpPort);
    if (value(families, 'iacdash_decision_logs_dropped_total') === 2) {
      t.equal(value(families, 'iacdash_decision_logs_written_total'), 0);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  t.pass('both entries dropped and counted');
});
