/** The markdown tables: each scenario's figures (medians) and the subject's ratios against every other contender. */

const fmt = (v, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '–');

/** A generator at or above this share of its core may itself be the limit. */
export const GENERATOR_BUSY = 0.9;

function cpuCell(cpu) {
  if (!cpu) return '–';
  const parts = [];
  if (cpu.server !== undefined) parts.push(fmt(cpu.server, 3));
  if (cpu.envoy !== undefined) parts.push(`${cpu.server !== undefined ? '+ ' : ''}${fmt(cpu.envoy, 3)} Envoy`);
  return parts.join(' ') || '–';
}

function rssCell(m) {
  const parts = [];
  if (m.peak_rss_mib !== undefined) parts.push(fmt(m.peak_rss_mib, 1));
  if (m.peak_rss_mib_envoy !== undefined) parts.push(`${m.peak_rss_mib !== undefined ? '+ ' : ''}${fmt(m.peak_rss_mib_envoy, 1)} Envoy`);
  return parts.join(' ') || '–';
}

/**
 * What a ratio compares: the server alone (A, B: Envoy is the same for
 * both sides), or server + Envoy when a contender runs inside Envoy (C).
 */
function basisOf(s) {
  const total = s.basis === 'server+envoy';
  const sum = (a, b) => (a === undefined && b === undefined ? NaN : (a ?? 0) + (b ?? 0));
  return {
    total,
    cpuSat: (m) => (total ? sum(m.cpu_s_per_10k_at_saturation?.server, m.cpu_s_per_10k_at_saturation?.envoy) : m.cpu_s_per_10k_at_saturation?.server),
    cpuFixed: (m) => (total ? sum(m.cpu_s_per_10k?.server, m.cpu_s_per_10k?.envoy) : m.cpu_s_per_10k?.server),
    rss: (m) => (total ? sum(m.peak_rss_mib, m.peak_rss_mib_envoy) : m.peak_rss_mib),
  };
}

/** Share of the generator core the load side used at saturation: the generator, plus the echo upstream where there is one. */
export function loadSideShare(sat) {
  return (sat?.generator_cpu_share ?? 0) + (sat?.upstream_cpu_share ?? 0);
}

/**
 * A target's ratio (`of` ÷ `against`) and whether it is met: `{ ratio, met }`
 * (met undefined when a figure is missing). Metrics: throughput, p99, rss,
 * and capacity (requests per CPU second: not capped by the load side).
 */
export function targetResult(s, t) {
  const a = s.contenders[t.of]?.median;
  const b = s.contenders[t.against]?.median;
  const basis = basisOf(s);
  const value = {
    throughput: (m) => m?.saturation?.rps,
    p99: (m) => m?.fixed?.p99_us,
    rss: (m) => (m ? basis.rss(m) : NaN),
    // Requests per CPU second at saturation: the throughput if the server core were the only limit.
    capacity: (m) => (m ? 1 / basis.cpuSat(m) : NaN),
  }[t.metric];
  const x = value(a);
  const y = value(b);
  const r = Number.isFinite(x) && Number.isFinite(y) && y !== 0 ? x / y : NaN;
  if (!Number.isFinite(r)) return { ratio: NaN, met: undefined };
  return { ratio: r, met: t.min !== undefined ? r >= t.min : r <= t.max };
}

/** The table for one scenario's results. */
export function scenarioMarkdown(s) {
  const lines = [];
  lines.push(`### ${s.id}. ${s.title}`, '');
  lines.push(`${s.setup.load}. Fixed rate: **${fmt(s.fixed_rps)} req/s** (half the slowest contender's saturation). Medians of ${Object.values(s.contenders)[0]?.rounds.length ?? 0} rounds.`, '');
  lines.push('| Contender | Throughput at saturation (req/s) | CPU s / 10k req at saturation | p50 (µs) | p99 (µs) | p99.9 (µs) | CPU s / 10k req at the fixed rate | Peak RSS (MiB) | Start to ready (ms) |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const notes = [];
  const failures = s.setup.failures ?? 'gRPC errors, or Envoy ext_authz errors such as its 0.5 s timeout';
  for (const [name, c] of Object.entries(s.contenders)) {
    const m = c.median;
    const share = loadSideShare(m.saturation);
    const busy = share >= GENERATOR_BUSY;
    if (busy) notes.push(`† ${name}: the load side (generator${m.saturation?.upstream_cpu_share !== undefined ? ' and echo upstream' : ''}) used ${Math.round(share * 100)}% of its core at saturation, so this throughput is a lower bound.`);
    const failedSat = c.rounds.reduce((n, r) => n + (r.saturation?.failed ?? 0) + (r.saturation?.non_ok ?? 0), 0);
    const failedFixed = c.rounds.reduce((n, r) => n + (r.fixed?.failed ?? 0) + (r.fixed?.non_ok ?? 0), 0);
    if (failedSat) notes.push(`‡ ${name}: ${failedSat} requests failed at saturation over all rounds (${failures}); they are not counted in the throughput.`);
    if (failedFixed) notes.push(`‡ ${name}: ${failedFixed} requests failed at the fixed rate over all rounds.`);
    lines.push(`| ${c.role === 'subject' ? `**${name}**` : name} | ${fmt(m.saturation?.rps)}${busy ? ' †' : ''}${failedSat ? ' ‡' : ''} | ${cpuCell(m.cpu_s_per_10k_at_saturation)} | ${fmt(m.fixed?.p50_us)}${failedFixed ? ' ‡' : ''} | ${fmt(m.fixed?.p99_us)} | ${fmt(m.fixed?.p999_us)} | ${cpuCell(m.cpu_s_per_10k)} | ${rssCell(m)} | ${fmt(m.ready_ms)} |`);
  }
  lines.push('');
  const basis = basisOf(s);
  const subjectName = Object.keys(s.contenders).find((n) => s.contenders[n].role === 'subject');
  const comparisons = s.comparisons ?? (subjectName ? [{ of: subjectName, against: Object.keys(s.contenders).filter((n) => n !== subjectName) }] : []);
  for (const cmp of comparisons) {
    const a = s.contenders[cmp.of]?.median;
    if (!a) continue;
    lines.push(`${cmp.of} against each (${cmp.of} ÷ other: above 1× is better for throughput, below 1× is better for the rest${basis.total ? '; CPU and RSS are the sidecar + Envoy together' : ''}):`, '');
    lines.push('| Against | Throughput | CPU / req at saturation | p99 | p99.9 | CPU / req at the fixed rate | Peak RSS | Start to ready |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const name of cmp.against) {
      const c = s.contenders[name];
      if (!c) continue;
      const b = c.median;
      lines.push(`| ${name} (${c.role}) | ${ratio(a.saturation?.rps, b.saturation?.rps)} | ${ratio(basis.cpuSat(a), basis.cpuSat(b))} | ${ratio(a.fixed?.p99_us, b.fixed?.p99_us)} | ${ratio(a.fixed?.p999_us, b.fixed?.p999_us)} | ${ratio(basis.cpuFixed(a), basis.cpuFixed(b))} | ${ratio(basis.rss(a), basis.rss(b))} | ${ratio(a.ready_ms, b.ready_ms)} |`);
    }
    lines.push('');
  }
  if (s.targets?.length) {
    lines.push('Targets (issue 7):', '');
    for (const t of s.targets) {
      const { ratio: r, met } = targetResult(s, t);
      const bound = t.min !== undefined ? `≥ ${t.min}×` : `≤ ${t.max}×`;
      const metric = t.metric === 'capacity' ? `capacity (1 ÷ ${basis.total ? 'sidecar + Envoy ' : ''}CPU per request at saturation)` : t.metric;
      lines.push(`- ${metric} of ${t.of} ÷ ${t.against} ${bound}: ${Number.isFinite(r) ? `${r.toFixed(2)}×` : '–'}, **${met === undefined ? 'no figure' : met ? 'met' : 'not met'}**`);
    }
    lines.push('');
  }
  if (s.extras) {
    const rounds = s.extras.rounds;
    const nonOk = rounds.reduce((n, r) => n + r.hot_swap_non_ok, 0);
    const total = rounds.reduce((n, r) => n + r.hot_swap_requests, 0);
    const what = s.swap_what ?? 'bundle';
    lines.push(`${what[0].toUpperCase()}${what.slice(1)} hot swap under load (${subjectName}, at the fixed rate, ${rounds.length * 2} swaps): the new revision answered after **${fmt(s.extras.median.hot_swap_ms)} ms** (median of the slower swap per round; this includes waiting for the next ${what.replace(/^Lua /, '')} poll, every 1000 ms by default). Failed requests during the swaps: **${nonOk} of ${fmt(total)}**${nonOk === 0 ? '' : ' (must be zero)'}; worst latency in a swap run: ${fmt(s.extras.median.hot_swap_max_us)} µs (median).`, '');
  }
  // Only contenders with a process on that core (older results: a server): an idle core fills with others' work and says nothing.
  const onCore = (c) => c.median.peak_rss_mib !== undefined || (c.median.peak_rss_mib_envoy !== undefined && Number.isFinite(c.median.saturation?.foreign_server_core_share));
  const foreign = Math.max(0, ...Object.values(s.contenders).filter(onCore).map((c) => c.median.saturation?.foreign_server_core_share ?? 0));
  if (foreign >= 0.05) notes.push(`⚠ Other processes on this machine used up to ${Math.round(foreign * 100)}% of the server core during the saturation runs (median per contender): the figures are lower than on a quiet machine.`);
  if (notes.length) lines.push(...notes, '');
  return lines.join('\n');
}

/** The whole results document. */
export function resultsMarkdown(run) {
  const m = run.machine;
  const lines = [
    `## Benchmark results${run.smoke ? ' (SMOKE RUN: seconds-long, not figures to quote)' : ''}`,
    '',
    `Command: \`${run.command}\` (${run.started_at}). ${run.rounds} rounds, ${run.seconds} s per measurement after ${run.warmup_seconds} s of warm-up.`,
    '',
    `Machine: ${m.cpu_model}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.os}; Node ${m.node}. Servers under test pinned to core ${run.cores.server}, load generators (and the harness) to core ${run.cores.generator}${run.pinned ? ' with `taskset`' : ' (**not pinned**: taskset unavailable)'}${run.niceness ? `, all of them at niceness ${run.niceness}` : ''}. Load average at start: ${m.loadavg_start.map((x) => x.toFixed(2)).join(', ')}.`,
    '',
    `Versions: iacdash ${run.versions.iacdash}; ${Object.entries(run.versions).filter(([k]) => k !== 'iacdash').map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    '',
  ];
  for (const s of run.scenarios) lines.push(scenarioMarkdown(s));
  lines.push('Latency is measured at the fixed rate, CPU is user+system time of the server process (from `/proc/PID/stat`) during the saturation or the fixed-rate run divided by the requests answered (on a machine shared with other work, CPU per request at saturation is the steadiest figure: it does not count the time others took from the core), peak RSS is `VmHWM` at the end of the round, and start-to-ready runs from spawn to the first 200 from the readiness endpoint (`/ready`; opa-envoy-plugin `/health?plugins`; Envoy `/ready`).', '');
  return lines.join('\n');
}
