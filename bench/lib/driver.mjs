/**
 * Runs one scenario: every contender back to back, in an order that
 * rotates each round, several rounds; medians at the end.
 *
 * Per round, each contender is started fresh (time to ready), checked for
 * correct answers, warmed up and driven to saturation; the fixed rate is
 * half the slowest contender's saturation in round 1 (kept for every
 * round, so rounds compare); then each runs at that rate; peak RSS is read
 * just before it stops. A scenario module supplies the contenders and how
 * to load them (see scenarios/README.md).
 */
import { coreBusySeconds, cpuSeconds, memoryKiB } from './proc.mjs';
import { median } from './stats.mjs';

/** Rotates `list` left by `n`: round r runs contenders in order r, r+1, ... */
export function rotate(list, n) {
  const k = n % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

function cpuOf(pids) {
  const out = {};
  for (const [role, pid] of Object.entries(pids)) if (pid) out[role] = cpuSeconds(pid);
  return out;
}

/** CPU seconds of the contender's processes on the server core (`scenario.serverCore` roles; default the server alone). */
function ownOnServerCore(scenario, pids) {
  let sum = 0;
  let any = false;
  for (const role of scenario.serverCore ?? ['server']) {
    if (!pids[role]) continue;
    sum += cpuSeconds(pids[role]);
    any = true;
  }
  return any ? sum : undefined;
}

/**
 * Share of the server core that processes other than the contender's used
 * during a run: another job on the machine shows here, not as a slow
 * server. NaN when none of the contender's processes is on that core.
 */
function foreignShare(ctx, coreBefore, ownBefore, ownAfter, wallS) {
  if (ownBefore === undefined) return NaN;
  const core = coreBusySeconds(ctx.cores.server) - coreBefore;
  return wallS > 0 ? Math.max(0, (core - (ownAfter - ownBefore)) / wallS) : NaN;
}

function per10k(before, after, requests) {
  const out = {};
  for (const role of Object.keys(before)) out[role] = requests > 0 ? ((after[role] - before[role]) / requests) * 10_000 : NaN;
  return out;
}

/** Median of each numeric leaf over the rounds (nested one level for objects such as cpu). */
export function medianOf(rounds) {
  const out = {};
  const keys = new Set(rounds.flatMap((r) => Object.keys(r)));
  for (const key of keys) {
    const values = rounds.map((r) => r[key]).filter((v) => v !== undefined);
    if (values.every((v) => typeof v === 'number')) out[key] = median(values);
    else if (values.every((v) => v && typeof v === 'object' && !Array.isArray(v))) out[key] = medianOf(values);
  }
  return out;
}

/** Runs `scenario` with `ctx`; returns its results object. */
export async function runScenario(scenario, ctx) {
  const { rounds, warmupSeconds, seconds } = ctx.opts;
  ctx.log(`scenario ${scenario.id}: ${scenario.title}`);
  const state = await scenario.setup(ctx);
  const results = Object.fromEntries(scenario.contenders.map((c) => [c.name, { role: c.role, rounds: [] }]));
  const extras = [];
  let fixedRps = ctx.opts.rate;
  try {
    for (let round = 0; round < rounds; round++) {
      const order = rotate(scenario.contenders, round);
      const running = new Map();
      const rec = new Map(order.map((c) => [c.name, {}]));
      try {
        for (const c of order) {
          const r = await c.start(ctx, state);
          running.set(c.name, r);
          const m = rec.get(c.name);
          m.ready_ms = r.readyMs;
          // What the check saw (e.g. the request the upstream got) is kept as evidence in the results.
          const verified = await scenario.verify(ctx, state, r, c);
          if (verified !== undefined) m.verified = verified;
          if (warmupSeconds > 0) await scenario.saturate(ctx, state, r, warmupSeconds, `${scenario.id}-warm`);
          const before = cpuOf(scenario.pids(r));
          const own0 = ownOnServerCore(scenario, scenario.pids(r));
          const core0 = coreBusySeconds(ctx.cores.server);
          const t0 = performance.now();
          const sat = await scenario.saturate(ctx, state, r, seconds, `${scenario.id}-sat`);
          sat.foreign_server_core_share = foreignShare(ctx, core0, own0, ownOnServerCore(scenario, scenario.pids(r)), (performance.now() - t0) / 1000);
          m.saturation = sat;
          m.cpu_s_per_10k_at_saturation = per10k(before, cpuOf(scenario.pids(r)), sat.requests);
          ctx.log(`  round ${round + 1}/${rounds} ${c.name}: ready ${r.readyMs.toFixed(0)} ms, ${sat.rps.toFixed(0)} req/s at saturation`);
        }
        if (fixedRps === undefined) {
          const slowest = Math.min(...order.map((c) => rec.get(c.name).saturation.rps));
          fixedRps = Math.max(1, Math.floor(slowest / 2));
          // A smoke run proves the harness works: a low rate keeps a shared CI machine's stalls out of it.
          if (ctx.opts.maxRate) fixedRps = Math.min(fixedRps, ctx.opts.maxRate);
          ctx.log(`  fixed rate for ${scenario.id}: ${fixedRps} req/s (half the slowest saturation)`);
        }
        for (const c of order) {
          const r = running.get(c.name);
          const m = rec.get(c.name);
          const before = cpuOf(scenario.pids(r));
          const own0 = ownOnServerCore(scenario, scenario.pids(r));
          const core0 = coreBusySeconds(ctx.cores.server);
          const t0 = performance.now();
          const fx = await scenario.fixed(ctx, state, r, fixedRps, seconds, `${scenario.id}-fixed`);
          fx.foreign_server_core_share = foreignShare(ctx, core0, own0, ownOnServerCore(scenario, scenario.pids(r)), (performance.now() - t0) / 1000);
          m.fixed = fx;
          m.cpu_s_per_10k = per10k(before, cpuOf(scenario.pids(r)), fx.requests);
          const pids = scenario.pids(r);
          if (pids.server) m.peak_rss_mib = memoryKiB(pids.server).hwm / 1024;
          if (pids.envoy) m.peak_rss_mib_envoy = memoryKiB(pids.envoy).hwm / 1024;
          ctx.log(`  round ${round + 1}/${rounds} ${c.name}: at ${fixedRps} req/s p50 ${fx.p50_us} µs, p99 ${fx.p99_us} µs, p99.9 ${fx.p999_us} µs`);
        }
      } finally {
        for (const r of running.values()) await r.stop();
      }
      for (const c of order) results[c.name].rounds.push(rec.get(c.name));
      if (scenario.extras) {
        const x = await scenario.extras(ctx, state, fixedRps, round);
        extras.push(x);
      }
    }
  } finally {
    await scenario.teardown?.(ctx, state);
  }
  for (const r of Object.values(results)) r.median = medianOf(r.rounds);
  const out = { id: scenario.id, title: scenario.title, subject: scenario.subject, setup: scenario.describe(ctx, state), fixed_rps: fixedRps, contenders: results };
  if (scenario.basis) out.basis = scenario.basis;
  if (scenario.serverLabel) out.server_label = scenario.serverLabel;
  if (scenario.swapWhat) out.swap_what = scenario.swapWhat;
  if (scenario.comparisons) out.comparisons = scenario.comparisons;
  if (scenario.targets) out.targets = scenario.targets;
  if (extras.length) out.extras = { rounds: extras, median: medianOf(extras) };
  return out;
}
