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

/** The table for one scenario's results. */
export function scenarioMarkdown(s) {
  const lines = [];
  lines.push(`### ${s.id}. ${s.title}`, '');
  lines.push(`${s.setup.load}. Fixed rate: **${fmt(s.fixed_rps)} req/s** (half the slowest contender's saturation). Medians of ${Object.values(s.contenders)[0]?.rounds.length ?? 0} rounds.`, '');
  lines.push('| Contender | Throughput at saturation (req/s) | CPU s / 10k req at saturation | p50 (µs) | p99 (µs) | p99.9 (µs) | CPU s / 10k req at the fixed rate | Peak RSS (MiB) | Start to ready (ms) |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const notes = [];
  for (const [name, c] of Object.entries(s.contenders)) {
    const m = c.median;
    const busy = (m.saturation?.generator_cpu_share ?? 0) >= GENERATOR_BUSY;
    if (busy) notes.push(`† ${name}: the load generator used ${Math.round(m.saturation.generator_cpu_share * 100)}% of its core at saturation, so this throughput is a lower bound.`);
    const failedSat = c.rounds.reduce((n, r) => n + (r.saturation?.failed ?? 0) + (r.saturation?.non_ok ?? 0), 0);
    const failedFixed = c.rounds.reduce((n, r) => n + (r.fixed?.failed ?? 0) + (r.fixed?.non_ok ?? 0), 0);
    if (failedSat) notes.push(`‡ ${name}: ${failedSat} requests failed at saturation over all rounds (gRPC errors, or Envoy ext_authz errors such as its 0.5 s timeout); they are not counted in the throughput.`);
    if (failedFixed) notes.push(`‡ ${name}: ${failedFixed} requests failed at the fixed rate over all rounds.`);
    lines.push(`| ${c.role === 'subject' ? `**${name}**` : name} | ${fmt(m.saturation?.rps)}${busy ? ' †' : ''}${failedSat ? ' ‡' : ''} | ${cpuCell(m.cpu_s_per_10k_at_saturation)} | ${fmt(m.fixed?.p50_us)}${failedFixed ? ' ‡' : ''} | ${fmt(m.fixed?.p99_us)} | ${fmt(m.fixed?.p999_us)} | ${cpuCell(m.cpu_s_per_10k)} | ${fmt(m.peak_rss_mib, 1)} | ${fmt(m.ready_ms)} |`);
  }
  lines.push('');
  const subject = s.contenders[Object.keys(s.contenders).find((n) => s.contenders[n].role === 'subject')];
  const subjectName = Object.keys(s.contenders).find((n) => s.contenders[n].role === 'subject');
  if (subject) {
    lines.push(`${subjectName} against each (${subjectName} ÷ other: above 1× is better for throughput, below 1× is better for the rest):`, '');
    lines.push('| Against | Throughput | CPU / req at saturation | p99 | p99.9 | CPU / req at the fixed rate | Peak RSS | Start to ready |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    const a = subject.median;
    for (const [name, c] of Object.entries(s.contenders)) {
      if (c === subject) continue;
      const b = c.median;
      lines.push(`| ${name} (${c.role}) | ${ratio(a.saturation?.rps, b.saturation?.rps)} | ${ratio(a.cpu_s_per_10k_at_saturation?.server, b.cpu_s_per_10k_at_saturation?.server)} | ${ratio(a.fixed?.p99_us, b.fixed?.p99_us)} | ${ratio(a.fixed?.p999_us, b.fixed?.p999_us)} | ${ratio(a.cpu_s_per_10k?.server, b.cpu_s_per_10k?.server)} | ${ratio(a.peak_rss_mib, b.peak_rss_mib)} | ${ratio(a.ready_ms, b.ready_ms)} |`);
    }
    lines.push('');
  }
  if (s.extras) {
    const rounds = s.extras.rounds;
    const nonOk = rounds.reduce((n, r) => n + r.hot_swap_non_ok, 0);
    const total = rounds.reduce((n, r) => n + r.hot_swap_requests, 0);
    lines.push(`Bundle hot swap under load (${subjectName}, at the fixed rate, ${rounds.length * 2} swaps): the new revision answered after **${fmt(s.extras.median.hot_swap_ms)} ms** (median of the slower swap per round; this includes waiting for the next bundle poll, every 1000 ms by default). Failed requests during the swaps: **${nonOk} of ${fmt(total)}**${nonOk === 0 ? '' : ' (must be zero)'}; worst latency in a swap run: ${fmt(s.extras.median.hot_swap_max_us)} µs (median).`, '');
  }
  // Only contenders with a server on that core: an idle core fills with others' work and says nothing.
  const foreign = Math.max(0, ...Object.values(s.contenders).filter((c) => c.median.peak_rss_mib !== undefined).map((c) => c.median.saturation?.foreign_server_core_share ?? 0));
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
