/**
 * One decision-log line in, one replayable entry out. The shape is OPA's
 * decision log (decision_id, path, input, result, error, erased, masked),
 * as our logger (src/telemetry/decision-log.ts) and OPA itself write it.
 * https://www.openpolicyagent.org/docs/latest/management-decision-logs/
 * Pure: text in, plain data out.
 */

/** A line that can be replayed. */
export interface LogEntry {
  /** Empty when the line has none. */
  readonly decisionId: string;
  /** The decision's path (`envoy/authz/allow`); empty when the line has none. */
  readonly path: string;
  /** The input exactly as logged, so numbers like 12345678901234567890 or 1.0 reach the policy unchanged. */
  readonly inputText: string;
  readonly input: unknown;
  /** The recorded result; undefined when the decision was undefined or failed. */
  readonly result: unknown;
  /** The recorded failure, when the decision failed. */
  readonly error: { readonly code: string; readonly message: string } | undefined;
  /** JSON pointers the logger erased or masked (`erased` and `masked`). */
  readonly masked: readonly string[];
  /** The bundle revisions the decision was made with (`bundles.*.revision`). */
  readonly revisions: readonly string[];
}

/** A parsed line, or why it cannot be replayed. */
export type ParsedLine = { readonly ok: true; readonly entry: LogEntry } | { readonly ok: false; readonly reason: string };

/**
 * A forward-only scanner over valid JSON text. It keeps the next backslash
 * position between strings, so a line with many strings stays linear.
 */
class Scanner {
  private slash = -1;

  constructor(readonly text: string) {}

  /** `at` is an opening quote; returns the index after the closing one. */
  skipString(at: number): number {
    const text = this.text;
    let from = at + 1;
    let quote = text.indexOf('"', from);
    for (;;) {
      if (this.slash !== Infinity && this.slash < from) {
        const next = text.indexOf('\\', from);
        this.slash = next === -1 ? Infinity : next;
      }
      if (this.slash > quote) return quote + 1;
      from = this.slash + 2; // an escape: skip the backslash and the escaped character
      if (from > quote) quote = text.indexOf('"', from);
    }
  }

  skipSpace(at: number): number {
    const text = this.text;
    let i = at;
    for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
    return i;
  }

  skipValue(at: number): number {
    const text = this.text;
    const first = text.charCodeAt(at);
    if (first === 34) return this.skipString(at);
    let i = at;
    if (first !== 123 && first !== 91) {
      for (let c = text.charCodeAt(i); i < text.length && c !== 44 && c !== 125 && c !== 93 && c !== 32 && c !== 9 && c !== 10 && c !== 13; c = text.charCodeAt(++i));
      return i;
    }
    let depth = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i = this.skipString(i);
        continue;
      }
      if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
}

/**
 * Where the value of the top-level member `name` sits in the text of a JSON
 * object, as [start, end); undefined when there is none. The text must be
 * valid JSON (JSON.parse has accepted it).
 */
export function memberSpan(text: string, name: string): [number, number] | undefined {
  const s = new Scanner(text);
  let i = s.skipSpace(0);
  if (text.charCodeAt(i) !== 123) return undefined;
  i = s.skipSpace(i + 1);
  while (i < text.length && text.charCodeAt(i) === 34) {
    const keyEnd = s.skipString(i);
    const raw = text.slice(i + 1, keyEnd - 1);
    const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
    const start = s.skipSpace(s.skipSpace(keyEnd) + 1); // past the colon
    const end = s.skipValue(start);
    if (key === name) return [start, end];
    i = s.skipSpace(end);
    if (text.charCodeAt(i) !== 44) return undefined;
    i = s.skipSpace(i + 1);
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** Reads one line. Blank lines are the caller's to skip. */
export function parseLogLine(line: string): ParsedLine {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (!isObject(doc)) return { ok: false, reason: 'not a JSON object' };
  const masked = [...strings(doc['erased']), ...strings(doc['masked'])];
  if (!('input' in doc)) {
    if (masked.includes('/input')) return { ok: false, reason: 'no input (erased by the mask /input)' };
    if (typeof doc['query'] === 'string' && doc['path'] === undefined) return { ok: false, reason: 'no input (an ad-hoc query, not a decision)' };
    return { ok: false, reason: 'no input' };
  }
  const span = memberSpan(line, 'input');
  if (!span) return { ok: false, reason: 'no input' };
  const error = doc['error'];
  const bundles = doc['bundles'];
  const revisions = isObject(bundles)
    ? Object.values(bundles).flatMap((b) => (isObject(b) && typeof b['revision'] === 'string' ? [b['revision']] : []))
    : [];
  return {
    ok: true,
    entry: {
      decisionId: typeof doc['decision_id'] === 'string' ? doc['decision_id'] : '',
      path: typeof doc['path'] === 'string' ? doc['path'] : '',
      inputText: line.slice(span[0], span[1]),
      input: doc['input'],
      result: doc['result'],
      error: isObject(error)
        ? { code: typeof error['code'] === 'string' ? error['code'] : 'error', message: typeof error['message'] === 'string' ? error['message'] : '' }
        : error !== undefined
          ? { code: 'error', message: String(error) }
          : undefined,
      masked,
      revisions,
    },
  };
}

/** `METHOD /path` of an ext_authz input (or of a plain `{method, path}` input), for examples. */
export function requestSummary(input: unknown): string {
  const http = isObject(input) && isObject(input['attributes']) && isObject(input['attributes']['request']) ? input['attributes']['request']['http'] : undefined;
  const from = isObject(http) ? http : isObject(input) ? input : {};
  const method = typeof from['method'] === 'string' ? from['method'] : '-';
  const path = typeof from['path'] === 'string' ? from['path'] : '-';
  return `${method} ${path.length > 80 ? `${path.slice(0, 77)}...` : path}`;
}
