/**
 * Reporters: human text (with a coloured diff on a terminal), TAP 14 and
 * JUnit XML. Pure formatting: each takes results and returns text.
 */
import type { CaseResult, CaseStatus, DetailLine } from './types.js';
import { CASE_KINDS } from './types.js';

/** Counts of one run. */
export interface Summary {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

/** Tallies results by status. */
export function summarize(results: readonly CaseResult[]): Summary {
  const s: Summary = { passed: 0, failed: 0, errors: 0, skipped: 0 };
  for (const r of results) {
    if (r.status === 'pass') s.passed++;
    else if (r.status === 'fail') s.failed++;
    else if (r.status === 'error') s.errors++;
    else s.skipped++;
  }
  return s;
}

/** `N passed, M failed`, then `, K errors` and `, S skipped` when there are any. */
export function summaryLine(s: Summary): string {
  let line = `${s.passed} passed, ${s.failed} failed`;
  if (s.errors > 0) line += `, ${s.errors} errors`;
  if (s.skipped > 0) line += `, ${s.skipped} skipped`;
  return line;
}

/** Colour on a terminal, or when FORCE_COLOR asks (and NO_COLOR does not forbid it). */
export function wantsColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  return isTTY === true;
}

type Paint = (code: number, text: string) => string;
const paintWith = (color: boolean): Paint => (color ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_code, text) => text);

const RED = 31;
const GREEN = 32;
const YELLOW = 33;
const MAGENTA = 35;
const DIM = 2;

const LABEL: Record<CaseStatus, [string, number]> = {
  pass: ['PASS ', GREEN],
  fail: ['FAIL ', RED],
  error: ['ERROR', MAGENTA],
  skip: ['SKIP ', YELLOW],
};

function title(r: CaseResult): string {
  return r.name ? `${r.file}  ${r.name}` : r.file;
}

/** A case's details as indented lines; mismatches as `- expected` / `+ actual`. */
export function detailText(details: readonly DetailLine[], paint: Paint = paintWith(false), indent = '      '): string {
  let out = '';
  for (const d of details) {
    if (d.kind === 'note') {
      out += `${indent}${paint(DIM, d.text)}\n`;
    } else {
      out += `${indent}${d.where}\n`;
      out += `${indent}  ${paint(RED, `- expected ${d.expected}`)}\n`;
      out += `${indent}  ${paint(GREEN, `+ actual   ${d.actual}`)}\n`;
    }
  }
  return out;
}

/** One case in the human format: a status line, and the details when it did not pass. */
export function humanCase(r: CaseResult, color: boolean): string {
  const paint = paintWith(color);
  const [label, code] = LABEL[r.status];
  const line = `${paint(code, label)} ${r.kind.padEnd(7)} ${title(r)}\n`;
  return r.status === 'fail' || r.status === 'error' ? line + detailText(r.details, paint) : line;
}

/** The human format's last line. */
export function humanSummary(s: Summary, color: boolean): string {
  const paint = paintWith(color);
  const text = summaryLine(s);
  return `\n${s.failed + s.errors > 0 ? paint(RED, text) : paint(GREEN, text)}\n`;
}

function tapEscape(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('#', '\\#').replaceAll('\n', ' ');
}

/** The TAP 14 header. */
export const TAP_HEADER = 'TAP version 14\n';

/** One TAP test point; failures and errors carry a YAML diagnostic block. */
export function tapCase(r: CaseResult, n: number): string {
  const desc = tapEscape(`${r.kind} ${title(r)}`);
  if (r.status === 'pass') return `ok ${n} - ${desc}\n`;
  if (r.status === 'skip') return `ok ${n} - ${desc} # SKIP\n`;
  const body = detailText(r.details, undefined, '    ');
  return `not ok ${n} - ${desc}\n  ---\n  kind: ${r.kind}\n  severity: ${r.status === 'error' ? 'error' : 'fail'}\n  details: |\n${body}  ...\n`;
}

/** The TAP plan (at the end, as TAP 14 allows) and the summary as a comment. */
export function tapEnd(results: readonly CaseResult[]): string {
  return `1..${results.length}\n# ${summaryLine(summarize(results))}\n`;
}

function xml(text: string): string {
  return text
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** The whole run as JUnit XML: one testsuite per kind of case. */
export function junitReport(results: readonly CaseResult[]): string {
  const total = summarize(results);
  const time = results.reduce((t, r) => t + r.durationMs, 0);
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n';
  out += `<testsuites name="iacdash test" tests="${results.length}" failures="${total.failed}" errors="${total.errors}" skipped="${total.skipped}" time="${seconds(time)}">\n`;
  for (const kind of CASE_KINDS) {
    const cases = results.filter((r) => r.kind === kind);
    if (cases.length === 0) continue;
    const s = summarize(cases);
    const t = cases.reduce((sum, r) => sum + r.durationMs, 0);
    out += `  <testsuite name="${kind}" tests="${cases.length}" failures="${s.failed}" errors="${s.errors}" skipped="${s.skipped}" time="${seconds(t)}">\n`;
    for (const r of cases) {
      const open = `    <testcase classname="${xml(`${kind}.${r.file}`)}" name="${xml(r.name || r.file)}" time="${seconds(r.durationMs)}"`;
      if (r.status === 'pass') {
        out += `${open}/>\n`;
        continue;
      }
      out += `${open}>\n`;
      const first = r.details[0];
      const message = first === undefined ? r.status : first.kind === 'note' ? first.text : `${first.where}: expected ${first.expected}, got ${first.actual}`;
      const tag = r.status === 'fail' ? 'failure' : r.status === 'error' ? 'error' : 'skipped';
      if (tag === 'skipped') out += `      <skipped/>\n`;
      else out += `      <${tag} message="${xml(message)}">${xml(detailText(r.details, undefined, ''))}</${tag}>\n`;
      out += `    </testcase>\n`;
    }
    out += `  </testsuite>\n`;
  }
  return `${out}</testsuites>\n`;
}
