#!/usr/bin/env node
/**
 * `npm run bench`: races iacdash against its peers, scenario by scenario,
 * and writes results/<label>.json, .md and .svg.
 *
 *   node run.mjs [--smoke] [--only C,D] [--rounds N] [--seconds S]
 *                [--warmup S] [--rate R] [--label NAME] [--out DIR]
 *                [--iacdash-root DIR [--iacdash-label TEXT]] [--server-core N] [--generator-core N]
 *                [--nice=N]  (e.g. --nice=-10: the = is needed for a negative value)
 *
 * --iacdash-root races another checkout's iacdash (its dist/ built), e.g.
 * the commit before a performance change, against the same peers.
 *   node run.mjs --profile [--only C] [--seconds S]   (iacdash under A's, or C's ext_proc, load with --cpu-prof)
 *   node run.mjs --render results/latest.json   (rewrites the .md and .svg beside it)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runScenario } from './lib/driver.mjs';
import { ensureTools, GENERATOR_VERSIONS, wrkVersion } from './lib/install.mjs';
import { BENCH_DIR, REPO_ROOT } from './lib/paths.mjs';
import { killAllChildren, pinningAvailable, pinSelf, setNiceness } from './lib/proc.mjs';
import { profileExtProc, profileIacdash } from './lib/profile.mjs';
import { resultsMarkdown } from './lib/report.mjs';
import { rootTool } from './lib/servers.mjs';
import { resultsSvg } from './lib/svg.mjs';
import { SCENARIOS } from './scenarios/index.mjs';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    render: { type: 'string' },
    scenarios: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string' },
    label: { type: 'string' },
    out: { type: 'string' },
    'iacdash-root': { type: 'string' },
    'iacdash-label': { type: 'string' },
    nice: { type: 'string' },
    'server-core': { type: 'string', default: '1' },
    'generator-core': { type: 'string', default: '0' },
  },
  strict: true,
});

const smoke = values.smoke;
const positive = (name, v, dflt) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${JSON.stringify(v)}`);
  return n;
};
// Default sizing: about 8 minutes for A and B, 11 for C and D, on 2 cores. Smoke: about 2 s of load per contender.
const opts = {
  rounds: Math.round(positive('rounds', values.rounds, smoke ? 1 : 5)),
  seconds: positive('seconds', values.seconds, smoke ? 0.6 : 5),
  warmupSeconds: values.warmup === '0' ? 0 : positive('warmup', values.warmup, smoke ? 0.3 : 2),
  swapSeconds: smoke ? 1.2 : 6,
  rate: values.rate === undefined ? undefined : Math.round(positive('rate', values.rate)),
  maxRate: smoke ? 25 : undefined,
  smoke,
};
const root = resolve(values['iacdash-root'] ?? process.env.IACDASH_ROOT ?? REPO_ROOT);
const cores = { server: Number(values['server-core']), generator: Number(values['generator-core']) };
const outDir = resolve(values.out ?? (smoke ? join(BENCH_DIR, 'results', 'tmp', 'smoke') : join(BENCH_DIR, 'results')));
const label = values.label ?? 'latest';
const log = (msg) => process.stderr.write(`${msg}\n`);

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim()) ?? 'unknown';
}

function gitDescribe(dir) {
  const rev = spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (rev.status !== 0) return 'unknown (not a git checkout)';
  const dirty = spawnSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin', 'package.json'], { encoding: 'utf8' });
  return `${rev.stdout.trim()}${dirty.stdout.trim() ? ' with uncommitted changes in src/' : ''}`;
}

function versions(tools) {
  const v = { iacdash: values['iacdash-label'] ?? gitDescribe(root) };
  v['opa-envoy-plugin'] = /Version:\s*(\S+)/.exec(spawnSync(rootTool(root, 'opa-envoy-plugin'), ['version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  v.opa = /Version:\s*(\S+)/.exec(spawnSync(rootTool(root, 'opa'), ['version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  if (tools.wrk || tools.vegeta) v.envoy = /version: \S+?\/(\d+\.\d+\.\d+)/.exec(firstLine(rootTool(root, 'envoy'), ['--version']))?.[1] ?? 'unknown';
  v['@grpc/grpc-js'] = JSON.parse(spawnSync(process.execPath, ['-p', 'JSON.stringify(require("@grpc/grpc-js/package.json").version)'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout);
  if (tools.ghz) v.ghz = `${GENERATOR_VERSIONS.ghz} (go install, pinned)`;
  if (tools.vegeta) v.vegeta = `${GENERATOR_VERSIONS.vegeta} (go install, pinned)`;
  if (tools.wrk) v.wrk = wrkVersion(tools.wrk);
  v.go = firstLine('go', ['version']).replace(/^go version /, '');
  return v;
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadavg_start: os.loadavg(),
  };
}

/** Rewrites the markdown and the chart of an existing results file (after a report change). */
function render(file) {
  const run = JSON.parse(readFileSync(file, 'utf8'));
  const base = file.replace(/\.json$/, '');
  writeFileSync(`${base}.md`, resultsMarkdown(run));
  writeFileSync(`${base}.svg`, resultsSvg(run));
  process.stdout.write(`Wrote ${base}.{md,svg}\n`);
}

async function main() {
  if (values.render) return render(resolve(values.render));
  const pinned = pinningAvailable(cores);
  if (pinned) pinSelf(cores.generator);
  else log(`bench: taskset is missing or there are not two distinct cores; running unpinned (figures are less trustworthy)`);
  const ctxCores = pinned ? cores : { server: undefined, generator: undefined };
  if (values.nice !== undefined) {
    const n = Number(values.nice);
    if (!Number.isInteger(n) || n < -20 || n > 19) throw new Error(`--nice: expected an integer from -20 to 19, got ${JSON.stringify(values.nice)}`);
    setNiceness(n);
  }

  if (values.scenarios !== undefined && values.only !== undefined) throw new Error('--only is another name for --scenarios: give one of them');
  const only = values.scenarios ?? values.only;
  const profileId = (only ?? 'A').trim().toUpperCase();
  if (values.profile && !['A', 'C'].includes(profileId)) throw new Error(`--profile: scenario A (ext_authz) or C (ext_proc), not ${JSON.stringify(only)}`);
  const selected = values.profile ? SCENARIOS.filter((s) => s.id === profileId) : only ? only.split(',').map((id) => {
    const s = SCENARIOS.find((x) => x.id === id.trim().toUpperCase());
    if (!s) throw new Error(`--only: no scenario ${JSON.stringify(id)} (have ${SCENARIOS.map((x) => x.id).join(', ')})`);
    return s;
  }) : SCENARIOS;
  const tools = ensureTools([...new Set(selected.flatMap((s) => s.generators))]);
  mkdirSync(join(BENCH_DIR, 'results', 'tmp'), { recursive: true });
  const workDir = mkdtempSync(join(BENCH_DIR, 'results', 'tmp', 'run-'));
  const ctx = { root, cores: ctxCores, tools, workDir, opts, log };
  const m = machine();
  if (m.loadavg_start[0] > 0.5) log(`bench: load average is ${m.loadavg_start[0].toFixed(2)}: other work on this machine will skew the figures`);
  try {
    mkdirSync(outDir, { recursive: true });
    if (values.profile) {
      const profile = await (profileId === 'C' ? profileExtProc : profileIacdash)(ctx, positive('seconds', values.seconds, 15), outDir);
      log(profile.markdown);
      return;
    }
    const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
    const args = process.argv.slice(2).map(quote).join(' ');
    const env = process.env.IACDASH_ROOT ? `IACDASH_ROOT=${quote(process.env.IACDASH_ROOT)} ` : '';
    const command = `${env}${process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}${args ? ` -- ${args}` : ''}` : `node bench/run.mjs ${args}`}`.trim();
    const run = {
      command,
      started_at: new Date().toISOString(),
      smoke,
      rounds: opts.rounds,
      seconds: opts.seconds,
      warmup_seconds: opts.warmupSeconds,
      cores,
      pinned,
      niceness: values.nice === undefined ? 0 : Number(values.nice),
      machine: m,
      versions: versions(tools),
      iacdash_root: root,
      scenarios: [],
    };
    for (const s of selected) run.scenarios.push(await runScenario(s, ctx));
    run.finished_at = new Date().toISOString();
    run.machine.loadavg_end = os.loadavg();
    const md = resultsMarkdown(run);
    writeFileSync(join(outDir, `${label}.json`), `${JSON.stringify(run, null, 1)}\n`);
    writeFileSync(join(outDir, `${label}.md`), md);
    writeFileSync(join(outDir, `${label}.svg`), resultsSvg(run));
    process.stdout.write(`${md}\nWrote ${join(outDir, label)}.{json,md,svg}\n`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().catch((err) => {
  log(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
