/**
 * Decisions compared the way Envoy would feel them: each result is read
 * through the OPA-Envoy contract (src/authz/decision.ts), so `true` and
 * `{"allowed": true}` are the same decision, and a flip is a change Envoy
 * would act on: allow or deny, status, headers, body, query, metadata.
 * Pure: results in, plain data out.
 */
import { ContractError, readDecision, type Decision, type Pair } from '../authz/decision.js';

/** One decision as Envoy would act on it, or why there was none. */
export type Outcome =
  | { readonly kind: 'allow' | 'deny'; readonly decision: Decision }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** What changed between the recorded and the candidate decision. */
export interface Flip {
  /** The kind of flip: `allow→deny`, `deny→allow`, `allow→error`, …, or `changed status+body` and the like. */
  readonly reason: string;
  readonly before: string;
  readonly after: string;
  /** A short description of the change (`403→401`, `x-user-roles`, …). */
  readonly detail: string;
}

function fromResult(result: unknown): Outcome {
  try {
    const decision = readDecision(result);
    return { kind: decision.allowed ? 'allow' : 'deny', decision };
  } catch (err) {
    if (err instanceof ContractError) return { kind: 'error', code: 'result_invalid', message: err.message };
    throw err;
  }
}

/** The decision a log entry records. */
export function recordedOutcome(result: unknown, error: { code: string; message: string } | undefined): Outcome {
  if (result !== undefined) return fromResult(result);
  if (error) return { kind: 'error', code: error.code, message: error.message };
  return { kind: 'error', code: 'undefined_decision', message: 'the decision is undefined' };
}

/** The candidate's decision from an evaluation's result set (as the sidecar reads it). */
export function candidateOutcome(resultSet: ReadonlyArray<{ result: unknown }>): Outcome {
  if (resultSet.length === 0) return { kind: 'error', code: 'undefined_decision', message: 'the decision is undefined' };
  if (resultSet.length > 1) return { kind: 'error', code: 'eval_error', message: 'multiple evaluation results' };
  return fromResult(resultSet[0]!.result);
}

/** `allow`, `deny 403`, `error undefined_decision`. */
export function describe(o: Outcome): string {
  if (o.kind === 'error') return `error ${o.code}`;
  return o.kind === 'deny' ? `deny ${o.decision.httpStatus}` : 'allow';
}

/** JSON with sorted keys, so key order never counts as a change. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function pairsKey(pairs: readonly Pair[]): string {
  return pairs.map(([k, v]) => `${k.toLowerCase()}\0${v}`).sort().join('\n');
}

/** Header names whose values differ between two decisions (upstream, client and removed headers together). */
function changedHeaders(a: Decision, b: Decision): string[] {
  const group = (d: Decision): Map<string, string> => {
    const m = new Map<string, string[]>();
    const add = (name: string, value: string): void => void m.set(name, [...(m.get(name) ?? []), value]);
    for (const [k, v] of d.headers) add(k.toLowerCase(), v);
    for (const [k, v] of d.responseHeadersToAdd) add(`response:${k.toLowerCase()}`, v);
    for (const k of d.requestHeadersToRemove) add(`remove:${k.toLowerCase()}`, '');
    return new Map([...m].map(([k, v]) => [k, v.sort().join('\0')]));
  };
  const x = group(a);
  const y = group(b);
  const names = new Set([...x.keys(), ...y.keys()]);
  return [...names].filter((n) => x.get(n) !== y.get(n)).sort();
}

function clip(s: string, n = 40): string {
  return JSON.stringify(s.length > n ? `${s.slice(0, n - 3)}...` : s);
}

/** The flip from `before` to `after`, or undefined when Envoy would see the same decision. */
export function compareOutcomes(before: Outcome, after: Outcome): Flip | undefined {
  const b = describe(before);
  const a = describe(after);
  if (before.kind === 'error' || after.kind === 'error' || before.kind !== after.kind) {
    if (before.kind === 'error' && after.kind === 'error' && before.code === after.code) return undefined;
    const detail = after.kind === 'error' ? `${a}: ${clip(after.message, 80)}` : a;
    return { reason: `${before.kind}→${after.kind}`, before: b, after: a, detail };
  }
  const x = before.decision;
  const y = after.decision;
  const aspects: string[] = [];
  const details: string[] = [];
  if (x.httpStatus !== y.httpStatus && !x.allowed) {
    aspects.push('status');
    details.push(`status ${x.httpStatus}→${y.httpStatus}`);
  }
  const headers = changedHeaders(x, y);
  if (headers.length > 0) {
    aspects.push('headers');
    details.push(`headers ${headers.slice(0, 4).join(', ')}${headers.length > 4 ? ', ...' : ''}`);
  }
  if (x.body !== y.body) {
    aspects.push('body');
    details.push(`body ${clip(x.body)}→${clip(y.body)}`);
  }
  if (pairsKey(x.queryParametersToSet) !== pairsKey(y.queryParametersToSet) || [...x.queryParametersToRemove].sort().join('\0') !== [...y.queryParametersToRemove].sort().join('\0')) {
    aspects.push('query');
    details.push('query parameters');
  }
  if (canonical(x.dynamicMetadata ?? {}) !== canonical(y.dynamicMetadata ?? {})) {
    aspects.push('metadata');
    details.push('dynamic_metadata');
  }
  if (aspects.length === 0) return undefined;
  return { reason: `changed ${aspects.join('+')}`, before: b, after: a, detail: details.join('; ') };
}
