/**
 * Just enough PromQL reading to check the dashboard and the rules against a
 * real scrape: the series names an expression selects, the label names its
 * matchers and groupings use, and the Prometheus text format's sample names.
 * Not a parser: strings, ranges and Grafana variables are blanked out, then
 * identifiers that are not functions, keywords or numbers are names.
 */

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'start', 'end']);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

/** Strings and Grafana variables blanked, so neither can pass for a name. */
function blank(expr: string): string {
  return expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, '1');
}

/** The series names an expression selects (metrics and recorded series), in order, without repeats. */
export function seriesNames(expr: string): string[] {
  const s = blank(expr)
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(GROUPING, ' ')
    .replace(/\boffset\s+-?[0-9a-z]+/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const before = s[m.index - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // the exponent of a number, e.g. 1e3
    if (/^\s*\(/.test(s.slice(m.index + m[0].length))) continue; // a function or aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Label names in each selector's matchers, by series name. */
export function matcherLabels(expr: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of blank(expr).matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const labels = out.get(m[1]!) ?? new Set<string>();
    for (const l of m[2]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.add(l[1]!);
    out.set(m[1]!, labels);
  }
  return out;
}

/** Label names in `by (...)`, `without (...)`, `on (...)`, `ignoring (...)` and `group_*(...)`. */
export function groupingLabels(expr: string): string[] {
  const out = new Set<string>();
  for (const m of blank(expr).matchAll(GROUPING)) {
    for (const l of m[2]!.split(',')) if (l.trim()) out.add(l.trim());
  }
  return [...out];
}

/** Sample name → its label names, from Prometheus text exposition. */
export function exposedSeries(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = out.get(m[1]!) ?? new Set<string>();
    for (const l of (m[3] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(l[1]!);
    out.set(m[1]!, labels);
  }
  return out;
}
