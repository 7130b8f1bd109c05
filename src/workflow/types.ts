/** What `iacdash test` runs and reports: plain data shared by the runners and the reporters. */

/** The four kinds of test case. */
export const CASE_KINDS = ['rego', 'lua', 'wasm', 'request'] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

/** pass and fail are verdicts; error means the case could not run (never counted as a pass). */
export type CaseStatus = 'pass' | 'fail' | 'error' | 'skip';

/**
 * One line of a case's explanation. `expected`/`actual` pairs render as a
 * diff; `note` is context (a failing Rego expression, a variable's value).
 */
export type DetailLine =
  | { readonly kind: 'mismatch'; readonly where: string; readonly expected: string; readonly actual: string }
  | { readonly kind: 'note'; readonly text: string };

/** The outcome of one case. */
export interface CaseResult {
  readonly kind: CaseKind;
  /** File the case comes from, relative to the current folder (with `:line` when known). */
  readonly file: string;
  /** What the case is called (a Rego rule, a fixture's description); may be empty. */
  readonly name: string;
  readonly status: CaseStatus;
  readonly details: readonly DetailLine[];
  readonly durationMs: number;
}

/** Turns a runner's "where: expected X, got Y" message into a mismatch line; anything else is a note. */
export function detailOf(message: string): DetailLine {
  const m = /^([^\n]*?): expected ([^\n]*?),? (?:got|but) ([^\n]*)$/.exec(message);
  if (m) return { kind: 'mismatch', where: m[1] as string, expected: m[2] as string, actual: m[3] as string };
  return { kind: 'note', text: message };
}
