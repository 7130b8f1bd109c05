// Overhead of telemetry on Check: `iacdash serve` with everything off, with the default (Prometheus
// metrics), and with tracing + metrics + decision logs all on, spans and log records going to a real
// OpenTelemetry Collector over OTLP. ghz drives the bench's CheckRequest mix (each request carrying a
// sampled W3C traceparent, as Envoy forwards it) at saturation; every configuration runs fresh in
// each round, in rotating order; the figures are medians. Prints one table; asserts nothing.
// Usage: npm run build && node bench/overhead/run.mjs [--rounds 3] [--seconds 5]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rotate } from '../lib/driver.mjs';
import { ghz } from '../lib/ghz.mjs';
import { goTool } from '../lib/install.mjs';
import { importDist, REPO_ROOT } from '../lib/paths.mjs';
import { Child, cpuSeconds, freePorts, httpGet, killAllChildren, pinned, pinningAvailable, sleep } from '../lib/proc.mjs';
import { checkRequestMix, delimited } from '../lib/requests.mjs';
import { buildBundles, rootTool } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' } } });
const ROUNDS = Number(opts.rounds);
const SECONDS = Number(opts.seconds);
const CPUS = { server: 1, generator: 0 };
const pin = pinningAvailable(CPUS);
const core = (role) => (pin ? CPUS[role] : undefined);
const work = mkdtempSync(join(tmpdir(), 'iacdash-overhead-'));
process.on('exit', killAllChildren);
process.on('SIGINT', () => process.exit(130));

/**
 * The collector: OTLP/HTTP in, the debug exporter's per-batch span counts out (parsed, so we know the
 * spans arrived). Decision logs are counted by iacdash itself: `written` is an export the collector accepted.
 */
async function startCollector() {
  const otelcol = join(process.env.IACDASH_TOOLS_DIR ?? join(REPO_ROOT, '.tools'), 'bin', 'otelcol');
  const [httpPort] = await freePorts(1);
  const config = join(work, 'otelcol.yaml');
  writeFileSync(config, `receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${httpPort}"}}}
exporters:
  debug: {verbosity: basic}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
    logs: {receivers: [otlp], exporters: [debug]}
`);
  const [cmd, args] = pinned(core('generator'), otelcol, ['--config', config]);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const counts = { spans: 0 };
  let text = '';
  let partial = '';
  let ready = false;
  const onData = (d) => {
    text = (text + d).slice(-4096);
    // Whole lines only: a chunk can end mid-line.
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      // debug exporter, basic verbosity: one line per batch, e.g. Traces {"resource spans": 1, "spans": 512}
      const spans = /"spans": (\d+)/.exec(line);
      if (spans) counts.spans += Number(spans[1]);
      if (line.includes('Everything is ready')) ready = true;
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  for (let i = 0; !ready; i++) {
    if (proc.exitCode !== null || i > 600) throw new Error(`the collector did not start:\n${text}`);
    await sleep(50);
  }
  process.on('exit', () => proc.kill('SIGKILL'));
  return { endpoint: `http://127.0.0.1:${httpPort}`, counts, stop: () => proc.kill('SIGTERM') };
}

const CONFIGS = (endpoint) => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'iacdash-bench' };
  return [
    { name: 'all off', yaml: 'telemetry: {metrics: {enabled: false}}\n', env: {} },
    { name: 'metrics only (the default)', yaml: '', env: {} },
    { name: 'metrics + tracing', yaml: 'telemetry: {tracing: {enabled: true}}\n', env, exported: true },
    { name: 'metrics + decision logs (OTLP)', yaml: 'decision_logs: {enabled: true, sink: otlp}\n', env, exported: true },
    { name: 'all on: metrics + tracing + decision logs (OTLP)', yaml: 'telemetry: {tracing: {enabled: true}}\ndecision_logs: {enabled: true, sink: otlp}\n', env, exported: true },
  ];
};

/** Starts one configuration; retried, since a concurrent `npm run build` can leave dist/ half written for a moment. */
async function startIacdash(bundle, config) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bundle, config);
    } catch (err) {
      if (attempt === 3) throw err;
      await sleep(3000);
    }
  }
}

async function startOnce(bundle, config) {
  const [grpcPort, httpPort] = await freePorts(2);
  const file = join(work, `iacdash-${grpcPort}.yaml`);
  writeFileSync(file, `server: {addr: "127.0.0.1:${grpcPort}", http_addr: "127.0.0.1:${httpPort}"}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\n${config.yaml}`);
  const [cmd, args] = pinned(core('server'), process.execPath, [join(REPO_ROOT, 'bin', 'iacdash.js'), 'serve', '--config', file]);
  // Decision lines to stdout would measure the pipe; the OTLP sink is the one under test.
  const child = new Child(config.name, cmd, args, { env: { ...process.env, ...config.env } });
  try {
    await child.waitReady(async () => (await httpGet(`http://127.0.0.1:${httpPort}/ready`)).status === 200);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, grpcPort, httpPort };
}

/** A Prometheus counter's value from /metrics, or undefined. */
async function counter(httpPort, name) {
  const { body } = await httpGet(`http://127.0.0.1:${httpPort}/metrics`);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

// The bench's CheckRequest mix, each with a sampled traceparent header (as Envoy forwards the client's).
const { envoyProtoRoot } = await importDist('server/protos.js');
const CheckRequest = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
const mix = (await checkRequestMix()).map(({ bytes }) => {
  const req = CheckRequest.toObject(CheckRequest.decode(bytes));
  req.attributes.request.http.headers = { ...req.attributes.request.http.headers, traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` };
  return Buffer.from(CheckRequest.encode(CheckRequest.fromObject(req)).finish());
});
const dataFile = join(work, 'mix.bin');
writeFileSync(dataFile, delimited(mix));

const ghzBin = goTool('ghz');
rootTool(REPO_ROOT, 'opa');
const { r1: bundle } = buildBundles(REPO_ROOT, work);
const collector = await startCollector();
const configs = CONFIGS(collector.endpoint);
const results = new Map(configs.map((c) => [c.name, []]));

for (let round = 0; round < ROUNDS; round++) {
  for (const config of rotate(configs, round)) {
    const server = await startIacdash(bundle, config);
    const before = collector.counts.spans;
    const warm = await ghz({ bin: ghzBin, core: core('generator'), port: server.grpcPort, dataFile, seconds: 2, workDir: work, tag: 'warm' });
    const cpu0 = cpuSeconds(server.child.pid);
    const run = await ghz({ bin: ghzBin, core: core('generator'), port: server.grpcPort, dataFile, seconds: SECONDS, workDir: work, tag: 'run' });
    const cpuUsPerCheck = ((cpuSeconds(server.child.pid) - cpu0) * 1e6) / run.requests;
    // Let the decision-log queue drain before stopping (what is still queued at close is dropped).
    let written;
    let dropped;
    for (let settled = 0, last = -1; settled < 3; ) {
      written = await counter(server.httpPort, 'iacdash_decision_logs_written_total');
      dropped = await counter(server.httpPort, 'iacdash_decision_logs_dropped_total');
      const seen = (written ?? 0) + (dropped ?? 0);
      settled = seen === last ? settled + 1 : 0;
      last = seen;
      await sleep(250);
    }
    await server.child.stop(); // flushes the spans still batched
    await sleep(config.exported ? 500 : 0);
    const r = {
      warm: warm.requests, checks: warm.requests + run.requests, rps: run.rps, p50_us: run.p50_us, p99_us: run.p99_us, cpu_us: cpuUsPerCheck, non_ok: run.non_ok, written, dropped,
      spans: collector.counts.spans - before,
    };
    results.get(config.name).push(r);
    process.stderr.write(`round ${round + 1} ${config.name}: ${Math.round(r.rps)} Checks/s, ${r.cpu_us.toFixed(1)} µs CPU/Check, ${r.checks} Checks, spans ${r.spans}, decision logs written ${written ?? '-'}, dropped ${dropped ?? '-'}\n`);
  }
}
collector.stop();

const off = results.get('all off');
const base = { rps: median(off.map((r) => r.rps)), cpu: median(off.map((r) => r.cpu_us)) };
const rows = configs.map((c) => {
  const rs = results.get(c.name);
  const m = (k) => median(rs.map((r) => r[k]));
  return `| ${c.name} | ${Math.round(m('rps'))} | ${(m('rps') / base.rps).toFixed(3)} | ${m('cpu_us').toFixed(1)} | ${(m('cpu_us') / base.cpu).toFixed(3)} | ${m('p50_us')} | ${m('p99_us')} | ${c.exported ? `${Math.round(m('checks'))} / ${Math.round(m('spans'))} / ${Math.round(m('written'))} / ${Math.round(m('dropped'))}` : '–'} |`;
});
console.log(`\nCheck throughput, ghz 50 workers on 1 connection, ${SECONDS} s at saturation, median of ${ROUNDS} rounds (${pin ? 'server pinned to core 1, ghz and collector to core 0' : 'no pinning'}):\n`);
console.log('| Configuration | Checks/s | ratio to all off | server CPU µs/Check | ratio | p50 µs | p99 µs | Checks / spans at the collector / decision logs written / dropped |');
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
