// OPA-shaped decision logs from a real in-process sidecar: fields, masking, rotation, a slow sink.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { RawJson } from '../../../src/json/raw-json.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { applyMasks, DecisionLogger, rfc3339Nano, StdoutSink, type DecisionSink } from '../../../src/telemetry/decision-log.js';
import { Logger } from '../../../src/telemetry/log.js';
import { iacdashVersion } from '../../../src/telemetry/setup.js';
import { buildBundle, tempDir } from '../../helpers/bundles.js';
import { authzClient, check } from '../../helpers/grpc.js';
import { scrape, value } from './scrape.js';

const SECRET = 'Bearer s3cret-token-value';
const http = (path: string, headers: Record<string, string> = {}, body?: string) => ({
  attributes: { request: { http: { method: 'POST', path, host: 'example.com', headers, ...(body === undefined ? {} : { body }) } } },
});

const dir = tempDir();
const basic = buildBundle('basic', join(dir, 'basic.tar.gz'), { revision: 'r1' });
const errors = buildBundle('errors', join(dir, 'errors.tar.gz'));

async function start(bundle: string, yaml: string, sink?: DecisionSink): Promise<RunningServer> {
  const config = parseConfig(
    `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\n${yaml}`,
    'test.yaml',
  );
  return startServer(config, new Logger('error', config.log.mask_headers, () => undefined), sink ? { decisionLogSink: sink } : {});
}

/** Lines across `file` and its rotated siblings, oldest first. */
function allLines(file: string): string[] {
  const rotated = readdirSync(join(file, '..'))
    .filter((f) => f.startsWith(`${file.split('/').pop()}.`))
    .map((f) => Number(f.split('.').pop()))
    .sort((a, b) => b - a);
  const files = [...rotated.map((n) => `${file}.${n}`), ...(existsSync(file) ? [file] : [])];
  return files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
}

/** Waits until the sidecar reports `n` entries written (the writer is asynchronous by design). */
async function written(server: RunningServer, n: number): Promise<void> {
  for (;;) {
    const { families } = await scrape(server.httpPort);
    if ((value(families, 'iacdash_decision_logs_written_total') ?? 0) >= n) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('a file of OPA decision-log lines, credentials erased', async (t) => {
  const file = join(tempDir(), 'decisions.log');
  const server = await start(basic, `decision_logs: {enabled: true, sink: file, file: ${JSON.stringify(file)}}`);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());

  const ok = await check(client, http('/x', { authorization: SECRET, cookie: `sid=${SECRET}`, 'x-api-key': SECRET, 'content-type': 'application/json' }, '{"n":12345678901234567890,"f":1.0}'));
  const deny = await check(client, http('/deny', { authorization: SECRET }));
  await written(server, 2);

  const lines = allLines(file);
  t.equal(lines.length, 2);
  t.notMatch(readFileSync(file, 'utf8'), /s3cret/, 'the secret never reaches the file');
  const [first, second] = lines.map((l) => JSON.parse(l));
  t.equal(first.decision_id, ok.response.dynamicMetadata.fields.decision_id.stringValue, 'the decision id Envoy got');
  t.equal(second.decision_id, deny.response.dynamicMetadata.fields.decision_id.stringValue);
  t.equal(first.path, 'envoy/authz/allow');
  t.same(first.result, { allowed: true, headers: { 'x-revision': 'one' } });
  t.same(second.result, { allowed: false, http_status: 429 });
  t.same(first.bundles, { iacdash: { revision: 'r1' } });
  t.match(first.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  t.ok(Math.abs(Date.parse(first.timestamp) - Date.now()) < 60_000, 'a current timestamp');
  t.match(first.metrics, { timer_rego_query_eval_ns: Number, timer_server_handler_ns: Number });
  t.ok(first.metrics.timer_server_handler_ns >= first.metrics.timer_rego_query_eval_ns);
  t.match(first.labels, { id: /^[0-9a-f-]{36}$/, version: iacdashVersion() });
  t.equal(first.labels.id, second.labels.id, 'one instance id per process');
  t.not(iacdashVersion(), 'unknown');
  t.same(first.erased, [
    '/input/attributes/request/http/headers/authorization',
    '/input/attributes/request/http/headers/cookie',
    '/input/attributes/request/http/headers/x-api-key',
  ]);
  t.same(second.erased, ['/input/attributes/request/http/headers/authorization'], 'only what was there is listed');
  t.same(first.input.attributes.request.http.headers, { 'content-type': 'application/json' });
  t.equal(first.input.parsed_path[0], 'x');
  t.match(lines[0], /"parsed_body":\{"n":12345678901234567890,"f":1\.0\}/, 'the input is logged exactly as the policy saw it');
});

t.test('a failed decision is logged with its error and no result', async (t) => {
  const file = join(tempDir(), 'decisions.log');
  const server = await start(errors, `decision_logs: {enabled: true, sink: file, file: ${JSON.stringify(file)}}`);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  await check(client, http('/undefined'));
  await written(server, 1);
  const [entry] = allLines(file).map((l) => JSON.parse(l));
  t.equal(entry.result, undefined);
  t.match(entry.error, { code: 'undefined_decision', message: /undefined/ });
});

t.test('the file rotates at the size limit and keeps max_files', async (t) => {
  const logDir = tempDir();
  const file = join(logDir, 'decisions.log');
  const server = await start(basic, `decision_logs: {enabled: true, sink: file, file: ${JSON.stringify(file)}, max_file_bytes: 2000, max_files: 3}`);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());

  for (let i = 0; i < 6; i++) await check(client, http(`/p${i}`));
  await written(server, 6);
  const names = readdirSync(logDir).sort();
  t.ok(names.includes('decisions.log.1'), `rotated: ${names.join(' ')}`);
  for (const name of names) t.ok(statSync(join(logDir, name)).size <= 2000, `${name} within the limit`);
  t.same(allLines(file).map((l) => JSON.parse(l).input.parsed_path[0]), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'], 'nothing lost, in order');

  for (let i = 6; i < 30; i++) await check(client, http(`/p${i}`));
  await written(server, 30);
  const after = readdirSync(logDir).sort();
  t.same(after, ['decisions.log', 'decisions.log.1', 'decisions.log.2', 'decisions.log.3'], 'only max_files rotated files are kept');
  const kept = allLines(file).map((l) => JSON.parse(l).input.parsed_path[0]);
  t.equal(kept.at(-1), 'p29', 'the newest entry is in the current file');
  t.ok(kept.length < 30, 'the oldest files were removed');
});

t.test('a sink that never completes: decisions go on, entries are dropped and counted', async (t) => {
  let writes = 0;
  const stuck: DecisionSink = {
    write: () => {
      writes++;
      return new Promise<void>(() => undefined);
    },
    close: async () => undefined,
  };
  const server = await start(basic, 'decision_logs: {enabled: true, queue_size: 2}', stuck);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());

  for (let i = 0; i < 10; i++) t.equal((await check(client, http('/x'))).response.status.code, 0, `check ${i} answered`);
  const { families } = await scrape(server.httpPort);
  t.equal(writes, 1, 'one write in flight, never completing');
  t.equal(value(families, 'iacdash_decision_logs_dropped_total'), 7, '10 entries: 1 in flight, 2 queued, 7 dropped');
  t.equal(value(families, 'iacdash_decision_logs_written_total'), 0);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'allowed' }), 10);
});

t.test('decision logs off: nothing is built or queued', async (t) => {
  let writes = 0;
  const sink: DecisionSink = { write: async () => void writes++, close: async () => undefined };
  const server = await start(basic, '', sink);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  await check(client, http('/x'));
  await new Promise((r) => setImmediate(r));
  t.equal(writes, 0);
});

t.test('mask rules in OPA shape: erase and upsert, copies only', async (t) => {
  const headers = { authorization: 'x', accept: '*/*' };
  const input = { attributes: { request: { http: { headers } } }, parsed_body: new RawJson('{"password":"p"}') };
  const entry: Record<string, unknown> = { input, result: { allowed: true } };
  applyMasks(entry, [
    '/input/attributes/request/http/headers/authorization',
    '/input/attributes/request/http/headers/missing',
    { op: 'upsert', path: '/input/attributes/request/http/headers/accept', value: '**REDACTED**' },
    '/input/parsed_body/password',
    '/result/allowed',
  ]);
  t.same(entry['erased'], ['/input/attributes/request/http/headers/authorization', '/result/allowed']);
  t.same(entry['masked'], ['/input/attributes/request/http/headers/accept']);
  t.same((entry['input'] as typeof input).attributes.request.http.headers, { accept: '**REDACTED**' });
  t.same(headers, { authorization: 'x', accept: '*/*' }, 'the original input is untouched');
  t.ok((entry['input'] as typeof input).parsed_body instanceof RawJson, 'a raw body is not walked into');
});

t.test('timestamps in Go RFC3339Nano', async (t) => {
  t.equal(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 0.0012), '2026-01-02T03:04:05.678001Z', 'µs resolution');
  t.equal(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05Z');
  t.equal(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 100)), '2026-01-02T03:04:05.1Z');
});

t.test('a closed logger drops instead of queueing', async (t) => {
  let dropped = 0;
  const logger = new DecisionLogger({ sink: { write: async () => undefined, close: async () => undefined }, queueSize: 5, bundleName: 'b', version: 'v', onDropped: (n) => (dropped += n) });
  await logger.close();
  t.equal(logger.log({ decisionId: 'd', path: 'p', input: {}, wallMs: 0, handlerNs: 1 }), false);
  t.equal(dropped, 1);
});

// Regression: close() dropped the entries queued behind a write in flight, so a stopped sidecar lost its last decisions.
t.test('regression close-drops-queued: close() writes what is queued behind a write in flight', async (t) => {
  const written: string[] = [];
  let dropped = 0;
  const slow: DecisionSink = {
    write: async (lines) => {
      await new Promise((r) => setTimeout(r, 20));
      written.push(...lines);
    },
    close: async () => undefined,
  };
  const logger = new DecisionLogger({ sink: slow, queueSize: 100, bundleName: 'b', version: 'v', onDropped: (n) => (dropped += n) });
  logger.log({ decisionId: 'd0', path: 'p', input: {}, wallMs: 0, handlerNs: 1 });
  await new Promise((r) => setImmediate(r));
  for (let i = 1; i < 11; i++) logger.log({ decisionId: `d${i}`, path: 'p', input: {}, wallMs: 0, handlerNs: 1 });
  await logger.close();
  t.same(written.map((l) => JSON.parse(l).decision_id), Array.from({ length: 11 }, (_, i) => `d${i}`), 'every entry written, in order');
  t.equal(dropped, 0);
});

t.test('close() gives up on a stuck sink at its deadline and counts what it drops', async (t) => {
  let dropped = 0;
  const stuck: DecisionSink = { write: () => new Promise<void>(() => undefined), close: async () => undefined };
  const logger = new DecisionLogger({ sink: stuck, queueSize: 100, bundleName: 'b', version: 'v', closeTimeoutMs: 50, onDropped: (n) => (dropped += n) });
  logger.log({ decisionId: 'd0', path: 'p', input: {}, wallMs: 0, handlerNs: 1 });
  await new Promise((r) => setImmediate(r));
  for (let i = 1; i < 4; i++) logger.log({ decisionId: `d${i}`, path: 'p', input: {}, wallMs: 0, handlerNs: 1 });
  await logger.close();
  t.equal(dropped, 3, 'the three queued behind the stuck write');
});

t.test('a file that cannot be written: entries are dropped and counted, decisions go on', async (t) => {
  const file = join(tempDir(), 'missing-dir', 'decisions.log');
  const server = await start(basic, `decision_logs: {enabled: true, sink: file, file: ${JSON.stringify(file)}}`);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  t.equal((await check(client, http('/x'))).response.status.code, 0);
  for (;;) {
    const { families } = await scrape(server.httpPort);
    if (value(families, 'iacdash_decision_logs_dropped_total') === 1) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  t.equal((await check(client, http('/y'))).response.status.code, 0, 'still serving');
  t.notOk(existsSync(file));
});

t.test('config: a file sink needs a file', async (t) => {
  t.throws(() => parseConfig('decision_logs: {enabled: true, sink: file}', 'test.yaml'), /decision_logs\.file/);
  t.throws(() => parseConfig('decision_logs: {enabled: true, sinks: stdout}', 'test.yaml'), /sinks/, 'strict: unknown keys are errors');
  const defaults = parseConfig('', 'test.yaml');
  t.equal(defaults.decision_logs.enabled, false, 'off by default');
  t.equal(defaults.telemetry.metrics.enabled, true);
  t.same(defaults.decision_logs.mask, [
    '/input/attributes/request/http/headers/authorization',
    '/input/attributes/request/http/headers/cookie',
    '/input/attributes/request/http/headers/x-api-key',
  ]);
});

t.test('the stdout sink writes whole lines in order', async (t) => {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  let written = 0;
  const logger = new DecisionLogger({ sink: new StdoutSink(out), queueSize: 10, bundleName: 'authz', version: 'v9', instanceId: 'id-1', onWritten: (n) => (written += n) });
  for (const id of ['a', 'b', 'c']) logger.log({ decisionId: id, path: 'envoy/authz/allow', input: { n: new RawJson('1.0') }, result: true, revision: 'r', wallMs: 0, evalNs: 5, handlerNs: 9 });
  await logger.close();
  t.equal(written, 3);
  const lines = chunks.join('').split('\n');
  t.equal(lines.pop(), '', 'newline-terminated');
  t.same(lines.map((l) => JSON.parse(l).decision_id), ['a', 'b', 'c']);
  t.same(JSON.parse(lines[0]!), {
    decision_id: 'a',
    path: 'envoy/authz/allow',
    input: { n: 1 },
    labels: { id: 'id-1', version: 'v9' },
    result: true,
    bundles: { authz: { revision: 'r' } },
    timestamp: '1970-01-01T00:00:00Z',
    metrics: { timer_rego_query_eval_ns: 5, timer_server_handler_ns: 9 },
  });
  t.match(lines[0], /"input":\{"n":1\.0\}/, 'RawJson written verbatim');
});
