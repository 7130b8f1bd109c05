// The telemetry's own CPU cost per Check, without gRPC or a load generator: one process runs the
// Authorizer on the bench's CheckRequest mix (each with a sampled traceparent) with telemetry off,
// metrics, tracing, decision logs (OTLP) and all on, in short interleaved blocks, and reads its own
// CPU time per block. Spans and log records go through the real SDK and exporters to a real
// OpenTelemetry Collector; each block waits for its exports (span flush, decision-log queue drained)
// so their CPU is counted where it belongs. On a machine shared with other work this is steadier
// than throughput: it counts only this process's CPU. Prints one table; asserts nothing.
// Usage: npm run build && node bench/overhead/inprocess.mjs [--rounds 9] [--checks 2000] [--only tracing]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importDist, REPO_ROOT } from '../lib/paths.mjs';
import { freePorts, sleep } from '../lib/proc.mjs';
import { checkRequestMix } from '../lib/requests.mjs';
import { buildBundles } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, checks: { type: 'string', default: '2000' }, only: { type: 'string' } } });
const ROUNDS = Number(opts.rounds);
const CHECKS = Number(opts.checks);
const work = mkdtempSync(join(tmpdir(), 'iacdash-overhead-inproc-'));

// A collector that accepts OTLP/HTTP and throws it away.
const [httpPort] = await freePorts(1);
writeFileSync(join(work, 'otelcol.yaml'), `receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${httpPort}"}}}
exporters:
  debug: {verbosity: basic, sampling_initial: 1, sampling_thereafter: 1000000}
service:
  telemetry: {metrics: {level: none}, logs: {level: warn}}
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
    logs: {receivers: [otlp], exporters: [debug]}
`);
const collector = spawn(join(process.env.IACDASH_TOOLS_DIR ?? join(REPO_ROOT, '.tools'), 'bin', 'otelcol'), ['--config', join(work, 'otelcol.yaml')], { stdio: 'ignore' });
process.on('exit', () => collector.kill('SIGKILL'));
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${httpPort}`;
process.env.OTEL_SERVICE_NAME = 'iacdash-bench';
await sleep(1500);

const { parseConfig } = await importDist('config/load.js');
const { createPolicyStore } = await importDist('server/server.js');
const { Authorizer } = await importDist('authz/authorizer.js');
const { Metrics } = await importDist('telemetry/metrics.js');
const { Logger } = await importDist('telemetry/log.js');
const { DecisionLogger } = await importDist('telemetry/decision-log.js');
const { OtlpLogSink } = await importDist('telemetry/otlp-log-sink.js');
const { startTracing } = await importDist('telemetry/tracing.js');
const { envoyProtoRoot } = await importDist('server/protos.js');
const api = await import(join(REPO_ROOT, 'node_modules', '@opentelemetry', 'api', 'build', 'src', 'index.js'));

const { r1: bundle } = buildBundles(REPO_ROOT, work);
const config = parseConfig(`bundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\n`, 'bench.yaml');
const logger = new Logger('error', [], () => undefined);
const store = createPolicyStore(config, logger);
await store.reload();

// The mix as the strict decoder hands it to the Authorizer, each request with its own sampled trace.
const { decodeStrict } = await importDist('server/strict-decode.js');
const { AUTHZ_DECODE } = await importDist('authz/service.js');
const CheckRequest = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
const mix = (await checkRequestMix()).map(({ bytes }) => {
  const req = CheckRequest.decode(bytes);
  req.attributes.request.http.headers.traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  return decodeStrict(CheckRequest, Buffer.from(CheckRequest.encode(req).finish()), AUTHZ_DECODE);
});

const tracing = await startTracing('bench');
const provider = api.trace.getTracerProvider().getDelegate();
let logged = 0;
let settled = 0;
const decisionLog = () =>
  new DecisionLogger({ sink: new OtlpLogSink('bench'), queueSize: 100_000, bundleName: 'iacdash', version: 'bench', onWritten: (n) => (settled += n), onDropped: (n) => (settled += n) });
const VARIANTS = {
  'all off': { authorizer: new Authorizer(store, config, logger, {}) },
  metrics: { authorizer: new Authorizer(store, config, logger, { metrics: new Metrics() }) },
  tracing: { authorizer: new Authorizer(store, config, logger, { tracing }), spans: true },
  'decision logs (OTLP)': { authorizer: new Authorizer(store, config, logger, { decisionLog: decisionLog() }), logs: true },
  'all on': { authorizer: new Authorizer(store, config, logger, { metrics: new Metrics(), tracing, decisionLog: decisionLog() }), spans: true, logs: true },
};

const results = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
for (let round = -1; round < ROUNDS; round++) {
  // --only NAME: that variant alone (e.g. under --cpu-prof).
  const names = Object.keys(VARIANTS).filter((n) => !opts.only || n === opts.only);
  for (const name of [...names.slice((round + 1) % names.length), ...names.slice(0, (round + 1) % names.length)]) {
    const v = VARIANTS[name];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < CHECKS; i++) {
      v.authorizer.check(mix[i % mix.length]);
      if (v.logs) logged++;
    }
    // Count the exports this block caused in this block.
    if (v.spans) await provider.forceFlush();
    while (settled < logged) await new Promise((r) => setImmediate(r));
    const cpu = process.cpuUsage(cpu0);
    if (round >= 0) results[name].push((cpu.user + cpu.system) / CHECKS); // round -1 warms up
  }
}
await tracing.shutdown();

const base = median(results['all off']);
console.log(`\nCPU per Check in one process (Authorizer.check on the bench mix, no gRPC), median of ${ROUNDS} interleaved blocks of ${CHECKS} Checks:\n`);
console.log('| Telemetry | CPU µs/Check | added µs/Check | ratio to all off |');
console.log('|---|---|---|---|');
for (const [name, xs] of Object.entries(results)) {
  if (xs.length === 0) continue;
  const m = median(xs);
  console.log(`| ${name} | ${m.toFixed(1)} | ${(m - base).toFixed(1)} | ${(m / base).toFixed(3)} |`);
}
collector.kill('SIGTERM');
