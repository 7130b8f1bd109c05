/**
 * The chart, as hand-written SVG: for each scenario, throughput at
 * saturation, p99 at the fixed rate and the server's CPU per request, one
 * horizontal bar per contender.
 */

const COLORS = { subject: '#2f6fde', peer: '#e07b39', ceiling: '#9aa3ad' };

/** Escapes text for SVG content and attributes. */
export function esc(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const num = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');

/** One panel: a title and a bar per row, scaled to the largest value. */
function panel(x, y, width, title, rows, unit) {
  const labelW = 170;
  const barH = 16;
  const gap = 6;
  const max = Math.max(1, ...rows.map((r) => (Number.isFinite(r.value) ? r.value : 0)));
  const parts = [`<text x="${x}" y="${y + 12}" class="h2">${esc(title)}</text>`];
  rows.forEach((r, i) => {
    const top = y + 22 + i * (barH + gap);
    const w = Number.isFinite(r.value) ? Math.max(1, ((width - labelW - 90) * r.value) / max) : 0;
    parts.push(`<text x="${x + labelW - 6}" y="${top + 12}" class="label" text-anchor="end">${esc(r.name)}</text>`);
    parts.push(`<rect x="${x + labelW}" y="${top}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[r.role] ?? '#666'}"/>`);
    parts.push(`<text x="${(x + labelW + w + 5).toFixed(1)}" y="${top + 12}" class="value">${esc(Number.isFinite(r.value) ? `${num(r.value)} ${unit}` : "n/a")}</text>`);
  });
  return { svg: parts.join('\n'), height: 22 + rows.length * (barH + gap) + 10 };
}

/** The chart for a whole run. */
export function resultsSvg(run) {
  const width = 880;
  const half = (width - 30) / 2;
  const parts = [];
  let y = 46;
  for (const s of run.scenarios) {
    parts.push(`<text x="10" y="${y}" class="h1">${esc(`${s.id}. ${s.title}`)}</text>`);
    y += 10;
    const entries = Object.entries(s.contenders);
    const panels = [
      ['Throughput at saturation (higher is better)', 'req/s', (c) => c.median.saturation?.rps],
      [`p99 at ${num(s.fixed_rps)} req/s (lower is better)`, 'µs', (c) => c.median.fixed?.p99_us],
      s.basis === 'server+envoy'
        ? ['Sidecar + Envoy CPU per request at saturation (lower is better)', 'µs', (c) => {
          const cpu = c.median.cpu_s_per_10k_at_saturation ?? {};
          return cpu.server === undefined && cpu.envoy === undefined ? NaN : ((cpu.server ?? 0) + (cpu.envoy ?? 0)) * 100;
        }]
        : [`${s.server_label ?? 'Server'} CPU per request at saturation (lower is better)`, 'µs', (c) => (c.median.cpu_s_per_10k_at_saturation?.server ?? NaN) * 100],
    ];
    // Two panels a row.
    for (let i = 0; i < panels.length; i += 2) {
      const row = panels.slice(i, i + 2).map(([title, unit, value], j) =>
        panel(10 + j * (half + 10), y, half, title, entries.map(([name, c]) => ({ name, role: c.role, value: value(c) })), unit));
      parts.push(...row.map((p) => p.svg));
      y += Math.max(...row.map((p) => p.height)) + 6;
    }
    y += 12;
  }
  const legend = Object.entries({ subject: 'iacdash', peer: 'peer', ceiling: 'ceiling' })
    .map(([role, label], i) => `<rect x="${10 + i * 110}" y="${y}" width="12" height="12" fill="${COLORS[role]}"/><text x="${27 + i * 110}" y="${y + 11}" class="label">${label}</text>`)
    .join('\n');
  const footer = `<text x="10" y="${y + 32}" class="note">${esc(`${run.machine.cpu_model}, ${run.machine.cores} cores; servers on core ${run.cores.server}, load generators on core ${run.cores.generator}; medians of ${run.rounds} rounds; ${run.started_at.slice(0, 10)}`)}</text>`;
  const height = y + 44;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">
<style>.h1{font-size:15px;font-weight:600;fill:#111}.h2{font-size:12px;font-weight:600;fill:#333}.label{font-size:12px;fill:#222}.value{font-size:11px;fill:#444}.note{font-size:11px;fill:#666}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" class="h1">${esc(`iacdash benchmarks${run.smoke ? ' (smoke run, not figures)' : ''}`)}</text>
${parts.join('\n')}
${legend}
${footer}
</svg>
`;
}
