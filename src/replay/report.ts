/**
 * What a replay found, kept in bounded memory: counters, flips grouped by
 * path and reason with their first few examples, the first few bad lines.
 * Rendered as a terminal table or as JSON for CI.
 */
import type { Flip } from './outcome.js';

/** One flipped decision, as an example. */
export interface FlipExample {
  readonly decision_id: string;
  /** `METHOD /path` of the request. */
  readonly request: string;
  readonly before: string;
  readonly after: string;
  readonly detail: string;
  /** The entry had erased or masked fields. */
  readonly masked: boolean;
}

/** Flips of one kind at one path. */
export interface FlipGroup {
  readonly path: string;
  readonly reason: string;
  count: number;
  /** How many of them come from entries with erased or masked fields. */
  masked: number;
  readonly examples: FlipExample[];
}

/** A flip threshold: a count, or a percentage of the entries replayed. */
export type Threshold = { readonly kind: 'count'; readonly value: number } | { readonly kind: 'percent'; readonly value: number };

/** `5` or `0.5%`; undefined when the text is neither. */
export function parseThreshold(text: string): Threshold | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  if (m[2] === '%') return value <= 100 ? { kind: 'percent', value } : undefined;
  return Number.isInteger(value) ? { kind: 'count', value } : undefined;
}

/** `5 flips` or `0.5% of entries`. */
export function describeThreshold(t: Threshold): string {
  return t.kind === 'count' ? `${t.value} flip${t.value === 1 ? '' : 's'}` : `${t.value}% of entries`;
}

/** True when `flips` out of `entries` is more than the threshold allows. */
export function exceeds(t: Threshold, flips: number, entries: number): boolean {
  return t.kind === 'count' ? flips > t.value : entries > 0 && (flips / entries) * 100 > t.value;
}

const MAX_BAD_EXAMPLES = 5;
const MAX_LISTED = 10;

/** The replay's tally. */
export class ReplayReport {
  /** Entries replayed (lines with an input). */
  entries = 0;
  flips = 0;
  /** Lines skipped: not JSON, no input. */
  badLines = 0;
  /** The first few bad lines as `FILE:LINE: reason`. */
  readonly badExamples: string[] = [];
  /** Entries with erased or masked fields. */
  maskedEntries = 0;
  maskedFlips = 0;
  /** The erased or masked pointers seen (the first few). */
  readonly maskedFields = new Set<string>();
  /** Revisions the replayed decisions were made with (the first few). */
  readonly recordedRevisions = new Set<string>();
  /** Per path: entries and flips. */
  readonly paths = new Map<string, { entries: number; flips: number }>();
  private readonly groups = new Map<string, FlipGroup>();
  elapsedMs = 0;

  constructor(private readonly examplesPerGroup = 3) {}

  /** Counts one replayed entry. */
  entry(path: string, masked: readonly string[], revisions: readonly string[]): void {
    this.entries++;
    let p = this.paths.get(path);
    if (!p) this.paths.set(path, (p = { entries: 0, flips: 0 }));
    p.entries++;
    if (masked.length > 0) {
      this.maskedEntries++;
      for (const f of masked) if (this.maskedFields.size < MAX_LISTED) this.maskedFields.add(f);
    }
    for (const r of revisions) if (this.recordedRevisions.size < MAX_LISTED) this.recordedRevisions.add(r);
  }

  /** Counts one flip of an entry already counted with {@link entry}. */
  flip(path: string, flip: Flip, decisionId: string, request: string, masked: boolean): void {
    this.flips++;
    this.paths.get(path)!.flips++;
    if (masked) this.maskedFlips++;
    const key = `${path}\0${flip.reason}`;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { path, reason: flip.reason, count: 0, masked: 0, examples: [] }));
    g.count++;
    if (masked) g.masked++;
    if (g.examples.length < this.examplesPerGroup) {
      g.examples.push({ decision_id: decisionId, request, before: flip.before, after: flip.after, detail: flip.detail, masked });
    }
  }

  /** Counts one skipped line. */
  bad(file: string, line: number, reason: string): void {
    this.badLines++;
    if (this.badExamples.length < MAX_BAD_EXAMPLES) this.badExamples.push(`${file}:${line}: ${reason}`);
  }

  /** Flip groups, largest first (then by path and reason, for stable output). */
  flipGroups(): FlipGroup[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count || a.path.localeCompare(b.path) || a.reason.localeCompare(b.reason));
  }
}

/** What the report says about its source, for both renderings. */
export interface ReportContext {
  readonly bundle: string;
  readonly revision: string;
  readonly files: readonly string[];
  readonly threshold?: Threshold | undefined;
}

const MASK_NOTE =
  'a policy that reads an erased or masked field sees it missing or replaced on replay, so those flips may be spurious';

/** The report as JSON for CI (snake_case, like OPA's logs). */
export function reportJson(r: ReplayReport, ctx: ReportContext): Record<string, unknown> {
  return {
    bundle: ctx.bundle,
    revision: ctx.revision,
    files: ctx.files,
    entries: r.entries,
    flips: r.flips,
    unchanged: r.entries - r.flips,
    bad_lines: r.badLines,
    bad_line_examples: r.badExamples,
    masked_entries: r.maskedEntries,
    masked_flips: r.maskedFlips,
    masked_fields: [...r.maskedFields],
    ...(r.maskedEntries > 0 ? { masked_note: MASK_NOTE } : {}),
    recorded_revisions: [...r.recordedRevisions],
    paths: [...r.paths].map(([path, p]) => ({ path, entries: p.entries, flips: p.flips })),
    groups: r.flipGroups(),
    threshold: ctx.threshold ? { ...ctx.threshold, exceeded: exceeds(ctx.threshold, r.flips, r.entries) } : null,
    elapsed_ms: Math.round(r.elapsedMs),
    entries_per_second: r.elapsedMs > 0 ? Math.round((r.entries / r.elapsedMs) * 1000) : null,
  };
}

const n = (x: number): string => x.toLocaleString('en-US');
const pct = (part: number, whole: number): string => (whole === 0 ? '0%' : `${((part / whole) * 100).toFixed(part === whole || part === 0 ? 0 : 2)}%`);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  // Text columns left, numbers right.
  const numeric = rows[0]!.map((_, i) => rows.slice(1).every((r) => /^[\d,.%]+$/.test(r[i]!)));
  return rows.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The report as a table for a terminal. */
export function reportTable(r: ReplayReport, ctx: ReportContext): string {
  const out: string[] = [];
  out.push(`replay: ${n(r.entries)} decisions from ${ctx.files.join(', ')} against ${ctx.bundle}${ctx.revision ? ` (revision ${ctx.revision})` : ''}`);
  out.push(`  flips: ${n(r.flips)} (${pct(r.flips, r.entries)})   unchanged: ${n(r.entries - r.flips)}   bad lines skipped: ${n(r.badLines)}`);
  if (r.recordedRevisions.size > 0) out.push(`  recorded with revision ${[...r.recordedRevisions].join(', ')}`);
  out.push('');
  const groups = r.flipGroups();
  if (groups.length === 0) out.push('No decision would flip.');
  else {
    out.push(...table([['PATH', 'REASON', 'FLIPS', 'MASKED'], ...groups.map((g) => [g.path, g.reason, n(g.count), n(g.masked)])]));
    out.push('', 'Examples:');
    for (const g of groups) {
      out.push(`  ${g.path}  ${g.reason}`);
      for (const e of g.examples) {
        out.push(`    ${e.decision_id || '(no decision_id)'}  ${e.request}  ${e.before} → ${e.after}${e.detail && e.detail !== e.after ? `  (${e.detail})` : ''}${e.masked ? '  [masked]' : ''}`);
      }
    }
  }
  if (r.paths.size > 1) {
    out.push('', ...table([['PATH', 'DECISIONS', 'FLIPS'], ...[...r.paths].map(([p, c]) => [p, n(c.entries), n(c.flips)])]));
  }
  if (r.maskedEntries > 0) {
    out.push('');
    out.push(`Note: ${n(r.maskedEntries)} of ${n(r.entries)} decisions had erased or masked fields (${[...r.maskedFields].join(', ')}),`);
    out.push(`  and ${n(r.maskedFlips)} of the ${n(r.flips)} flips come from them: ${MASK_NOTE}.`);
  }
  if (r.badLines > 0) {
    out.push('', `Skipped ${n(r.badLines)} bad line${r.badLines === 1 ? '' : 's'}${r.badLines > r.badExamples.length ? ` (first ${r.badExamples.length})` : ''}:`);
    for (const b of r.badExamples) out.push(`  ${b}`);
  }
  if (ctx.threshold) {
    const over = exceeds(ctx.threshold, r.flips, r.entries);
    out.push('', `Threshold ${describeThreshold(ctx.threshold)}: ${over ? 'EXCEEDED' : 'ok'} (${n(r.flips)} flips, ${pct(r.flips, r.entries)})`);
  }
  // A rate over less than a second is mostly start-up (the policy's compile), so it is left out.
  if (r.elapsedMs >= 1000) out.push('', `${n(r.entries)} decisions in ${(r.elapsedMs / 1000).toFixed(1)} s (${n(Math.round((r.entries / r.elapsedMs) * 1000))}/s)`);
  return `${out.join('\n')}\n`;
}
