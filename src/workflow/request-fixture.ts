/**
 * Request-level fixtures: one CheckRequest in, the answer Envoy would get
 * out. Pure: the schema, the CheckResponse → answer translation, and the
 * comparison.
 *
 * ```yaml
 * description: a known API key is let through with the caller's name
 * request:                  # a CheckRequest in protojson (as `iacdash eval` reads), inline,
 *   attributes: {...}       # or a path to a .json file, relative to this fixture
 * expect:                   # only the keys given are checked; at least one is required
 *   allowed: true
 *   status: 401             # HTTP status sent on a denial (403 when the decision sets none)
 *   code: undefined_decision   # the iacdash error code that shaped the answer; null for none
 *   headers: { x-user: alice, x-debug: null, x-id: { match: "^[0-9a-f-]+$" } }
 *                           # allow: headers added upstream; deny: headers sent to the client
 *   response_headers_to_add: { x-frame-options: DENY }
 *   request_headers_to_remove: [x-api-key]
 *   query_parameters_to_set: { page: "1" }
 *   query_parameters_to_remove: [debug]
 *   body: '{"error":"unauthenticated"}'   # the denial's body: a string exactly, or an object/list as parsed JSON
 *   dynamic_metadata: { rule: public }   # exactly, without decision_id
 * ```
 *
 * Header values: a string (several values joined with ","), a list of
 * values, null for absent, or `{match: regex}`.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { CheckOutcome, CheckResponseObject } from '../authz/index.js';
import { structToJson } from '../json/struct.js';
import type { DetailLine } from './types.js';

const headerValue = z.union([z.string(), z.array(z.string()), z.null(), z.strictObject({ match: z.string() })]);
const headerExpect = z.record(z.string(), headerValue);
const jsonBody = z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]);

const expectSchema = z.strictObject({
  allowed: z.boolean().optional(),
  status: z.number().int().optional(),
  code: z.union([z.string(), z.null()]).optional(),
  headers: headerExpect.optional(),
  response_headers_to_add: headerExpect.optional(),
  request_headers_to_remove: z.array(z.string()).optional(),
  query_parameters_to_set: z.record(z.string(), z.string()).optional(),
  query_parameters_to_remove: z.array(z.string()).optional(),
  body: jsonBody.optional(),
  dynamic_metadata: z.record(z.string(), z.unknown()).optional(),
});

/** The request fixture schema. */
export const requestFixtureSchema = z.strictObject({
  description: z.string().optional(),
  request: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  expect: expectSchema.refine((e) => Object.keys(e).length > 0, { message: 'nothing to check: give at least one of allowed, status, headers, ...' }),
});

/** A parsed request fixture. */
export type RequestFixture = z.infer<typeof requestFixtureSchema>;
type Expect = RequestFixture['expect'];

/** Validates fixture data; errors read `file: key.path: what is wrong`. */
export function parseRequestFixture(data: unknown, label: string): RequestFixture {
  const r = requestFixtureSchema.safeParse(data);
  if (r.success) return r.data;
  throw new Error(r.error.issues.map((i) => `${label}: ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n'));
}

/** What Envoy gets from one Check, in the fixture's terms. */
export interface Answer {
  allowed: boolean;
  /** HTTP status of a denial; null when allowed or answered with a gRPC error. */
  status: number | null;
  code: string | null;
  headers: Record<string, string[]>;
  response_headers_to_add: Record<string, string[]>;
  request_headers_to_remove: string[];
  query_parameters_to_set: Record<string, string>;
  query_parameters_to_remove: string[];
  body: string | null;
  dynamic_metadata: Record<string, unknown>;
  /** Set when the answer is a gRPC error rather than a CheckResponse. */
  grpc_error?: { code: number; message: string };
}

function headerMap(options: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const o of (options as Array<{ header?: { key?: string; value?: string } }> | undefined) ?? []) {
    const key = o.header?.key?.toLowerCase();
    if (key === undefined) continue;
    (out[key] ??= []).push(o.header?.value ?? '');
  }
  return out;
}

/** CheckOutcome → Answer. A denial without a denied response gets Envoy's default 403. */
export function answerOf(outcome: CheckOutcome): Answer {
  const empty = { headers: {}, response_headers_to_add: {}, request_headers_to_remove: [], query_parameters_to_set: {}, query_parameters_to_remove: [], body: null, dynamic_metadata: {} };
  if (outcome.kind === 'grpc-error') {
    return { allowed: false, status: null, code: outcome.code, ...empty, grpc_error: { code: outcome.grpcStatus, message: outcome.message } };
  }
  const r: CheckResponseObject = outcome.response;
  const allowed = r.status.code === 0;
  const ok = (r.okResponse ?? {}) as Record<string, unknown>;
  const metadata = r.dynamicMetadata ? (structToJson(r.dynamicMetadata) as Record<string, unknown>) : {};
  delete metadata['decision_id'];
  return {
    allowed,
    status: allowed ? null : (r.deniedResponse?.status?.code ?? 403),
    code: outcome.code ?? null,
    headers: headerMap(allowed ? ok['headers'] : r.deniedResponse?.headers),
    response_headers_to_add: headerMap(ok['responseHeadersToAdd']),
    request_headers_to_remove: (ok['headersToRemove'] as string[] | undefined) ?? [],
    query_parameters_to_set: Object.fromEntries(((ok['queryParametersToSet'] as Array<{ key: string; value: string }> | undefined) ?? []).map((q) => [q.key, q.value])),
    query_parameters_to_remove: (ok['queryParametersToRemove'] as string[] | undefined) ?? [],
    body: allowed ? null : (r.deniedResponse?.body ?? null),
    dynamic_metadata: metadata,
  };
}

const show = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v));

function compareHeaders(where: string, want: Record<string, z.infer<typeof headerValue>>, got: Record<string, string[]>, out: DetailLine[]): void {
  for (const [rawName, expected] of Object.entries(want)) {
    const name = rawName.toLowerCase();
    const values = got[name];
    const joined = values?.join(',');
    const ok =
      expected === null
        ? values === undefined
        : Array.isArray(expected)
          ? isDeepStrictEqual(values, expected)
          : typeof expected === 'string'
            ? joined === expected
            : joined !== undefined && new RegExp(expected.match).test(joined);
    if (!ok) out.push({ kind: 'mismatch', where: `${where}.${name}`, expected: show(expected), actual: show(Array.isArray(expected) ? values : joined) });
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return isDeepStrictEqual([...a].sort(), [...b].sort());
}

function compareBody(want: string | object, got: string | null, out: DetailLine[]): void {
  if (typeof want === 'string') {
    if (got !== want) out.push({ kind: 'mismatch', where: 'body', expected: show(want), actual: show(got) });
    return;
  }
  let parsed: unknown;
  try {
    parsed = got === null ? undefined : JSON.parse(got);
  } catch {
    parsed = undefined;
  }
  if (!isDeepStrictEqual(parsed, want)) out.push({ kind: 'mismatch', where: 'body', expected: show(want), actual: parsed === undefined ? show(got) : show(parsed) });
}

/** Every way the answer differs from the expectation; empty when it matches. */
export function compareAnswer(e: Expect, a: Answer): DetailLine[] {
  const out: DetailLine[] = [];
  const scalar = (where: string, want: unknown, got: unknown): void => {
    if (want !== undefined && !isDeepStrictEqual(want, got)) out.push({ kind: 'mismatch', where, expected: show(want), actual: show(got) });
  };
  scalar('allowed', e.allowed, a.allowed);
  scalar('status', e.status, a.status);
  scalar('code', e.code, a.code);
  if (e.headers) compareHeaders('headers', e.headers, a.headers, out);
  if (e.response_headers_to_add) compareHeaders('response_headers_to_add', e.response_headers_to_add, a.response_headers_to_add, out);
  if (e.request_headers_to_remove && !sameSet(e.request_headers_to_remove, a.request_headers_to_remove)) {
    out.push({ kind: 'mismatch', where: 'request_headers_to_remove', expected: show(e.request_headers_to_remove), actual: show(a.request_headers_to_remove) });
  }
  scalar('query_parameters_to_set', e.query_parameters_to_set, e.query_parameters_to_set && a.query_parameters_to_set);
  if (e.query_parameters_to_remove && !sameSet(e.query_parameters_to_remove, a.query_parameters_to_remove)) {
    out.push({ kind: 'mismatch', where: 'query_parameters_to_remove', expected: show(e.query_parameters_to_remove), actual: show(a.query_parameters_to_remove) });
  }
  if (e.body !== undefined) compareBody(e.body, a.body, out);
  scalar('dynamic_metadata', e.dynamic_metadata, a.dynamic_metadata);
  return out;
}
