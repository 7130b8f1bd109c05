/**
 * ghz (gRPC load generator) against an ext_authz Check endpoint: the
 * CheckRequest mix as length-delimited binary messages, sent round-robin.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runGenerator } from './generator.mjs';
import { REPO_ROOT } from './paths.mjs';
import { latencySummaryUs } from './stats.mjs';

const DEPS = join(REPO_ROOT, 'node_modules', '@grpc', 'grpc-js-xds', 'deps');
const IMPORTS = ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => join(DEPS, d));
const PROTO = join(DEPS, 'envoy-api', 'envoy', 'service', 'auth', 'v3', 'external_auth.proto');

/**
 * One ghz run. `rps` undefined means saturation (as fast as `concurrency`
 * workers go). Resolves throughput, latency percentiles of OK calls, and the
 * non-OK count with the first error texts.
 */
export async function ghz({ bin, core, port, dataFile, seconds, rps, concurrency = 50, connections = 1, workDir, tag }) {
  const out = join(workDir, `ghz-${tag}.json`);
  const args = [
    '--insecure', '--proto', PROTO, '-i', IMPORTS.join(','),
    '--call', 'envoy.service.auth.v3.Authorization.Check',
    '-B', dataFile,
    '-c', String(concurrency), '--connections', String(connections),
    '-z', `${seconds}s`,
    // Let calls in flight at the end finish: `close` (the default) reports them as errors.
    '--duration-stop', 'wait',
    '-t', '10s',
    '-O', 'json', '-o', out,
  ];
  if (rps) args.push('-r', String(rps));
  args.push(`127.0.0.1:${port}`);
  const run = await runGenerator(core, bin, args);
  if (run.code !== 0) throw new Error(`ghz exited with ${run.code}: ${run.stderr || run.stdout}`);
  const report = JSON.parse(readFileSync(out, 'utf8'));
  rmSync(out, { force: true });
  const details = report.details ?? [];
  const ok = [];
  for (const d of details) if (!d.error) ok.push(d.latency);
  const statuses = report.statusCodeDistribution ?? {};
  const count = report.count ?? details.length;
  const totalS = (report.total ?? 0) / 1e9;
  const nonOk = Object.entries(statuses).reduce((n, [s, c]) => (s === 'OK' ? n : n + c), 0);
  return {
    requests: count,
    ok: statuses.OK ?? 0,
    non_ok: nonOk,
    errors: Object.keys(report.errorDistribution ?? {}).slice(0, 3),
    seconds: totalS,
    rps: totalS > 0 ? count / totalS : 0,
    ...latencySummaryUs(ok),
    generator_cpu_share: run.wallS > 0 ? run.cpuS / run.wallS : NaN,
  };
}
