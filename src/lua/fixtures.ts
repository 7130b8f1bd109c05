/**
 * Fixture runner for Lua transforms: a request and/or response in, the
 * expected mutations, immediate response or error out. Policy authors use it
 * for their own scripts; lua/fixtures/ holds the examples' fixtures.
 *
 * A fixture (YAML or JSON):
 * ```yaml
 * description: a known key passes
 * context: { routeMetadata: {...}, dynamicMetadata: {...}, streamInfo: {...}, ssl: false, now: 1700000000000 }
 * limits: { maxInstructions: 100000 }          # optional LuaLimits overrides
 * request:                                      # runs envoy_on_request
 *   headers: { ":method": GET, x-multi: [a, b] } # or a list of [name, value] pairs
 *   body: '{"a":1}'                             # or {json: ...} / {base64: ...}; absent: no body
 *   trailers: { x-checksum: abc }               # optional
 *   expect:
 *     kind: done                                # done (default) | respond | error
 *     headers: { set: { x-id: { match: "^[0-9a-f-]{36}$" } }, remove: [x-user-id] }  # or: unchanged
 *     body: { json: {...} }                     # or a string, {base64}, or null (not replaced)
 *     trailers: { set: {...} }
 *     respond: { status: 401, headers: {...}, body: '...' }
 *     error: { code: lua_forbidden_call, message: "os.execute" }
 *     dynamicMetadata: { ns: { key: value } }
 *     logs: [ { level: warn, message: "not a JSON object" } ]   # in order; a string matches a substring
 * response: { headers: ..., body: ..., expect: ... }   # runs envoy_on_response on the same stream
 * ```
 * Header values in `expect` are strings, lists of strings, or `{match: regex}`.
 * Omitted expectations are not checked.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LuaScript } from './script.js';
import type { HeaderMutation, JsonValue, LogEntry, Phase, PhaseStep, StreamContext } from './types.js';

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);
const headerInput = z.union([
  z.record(z.string(), z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])),
  z.array(z.tuple([z.string(), z.union([z.string(), z.number()])])),
]);
const bodyInput = z.union([z.string(), z.strictObject({ json: jsonValue }), z.strictObject({ base64: z.string() })]);
const valueMatcher = z.union([z.string(), z.strictObject({ match: z.string() })]);
const headerValues = z.union([valueMatcher, z.number(), z.array(z.union([valueMatcher, z.number()]))]);
const headerExpect = z.union([
  z.literal('unchanged'),
  z.strictObject({ set: z.record(z.string(), headerValues).optional(), remove: z.array(z.string()).optional() }),
]);
const expectSchema = z.strictObject({
  kind: z.enum(['done', 'respond', 'error']).optional(),
  headers: headerExpect.optional(),
  body: z.union([bodyInput, z.null()]).optional(),
  trailers: headerExpect.optional(),
  respond: z
    .strictObject({
      status: z.number().int(),
      headers: z.record(z.string(), headerValues).optional(),
      body: z.union([bodyInput, z.null()]).optional(),
    })
    .optional(),
  error: z.strictObject({ code: z.string(), message: z.string().optional() }).optional(),
  dynamicMetadata: z.record(z.string(), z.record(z.string(), jsonValue)).optional(),
  logs: z.array(z.strictObject({ level: z.string().optional(), message: valueMatcher })).optional(),
});
const phaseSchema = z.strictObject({
  headers: headerInput,
  body: bodyInput.optional(),
  trailers: headerInput.optional(),
  expect: expectSchema.default({}),
});
const fixtureSchema = z.strictObject({
  description: z.string().optional(),
  context: z
    .strictObject({
      routeMetadata: z.record(z.string(), jsonValue).optional(),
      filterContext: z.record(z.string(), jsonValue).optional(),
      dynamicMetadata: z.record(z.string(), z.record(z.string(), jsonValue)).optional(),
      streamInfo: z.record(z.string(), z.string()).optional(),
      ssl: z.union([z.literal(false), z.record(z.string(), z.unknown())]).optional(),
      now: z.number().optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      maxInstructions: z.number().optional(),
      maxMillis: z.number().optional(),
      maxStringBytes: z.number().optional(),
      maxBodyBytes: z.number().optional(),
      stringByteCost: z.number().optional(),
      hookInterval: z.number().optional(),
    })
    .optional(),
  request: phaseSchema.optional(),
  response: phaseSchema.optional(),
});

/** A parsed fixture. */
export type LuaFixture = z.infer<typeof fixtureSchema>;

/** The outcome of one fixture. */
export interface FixtureResult {
  pass: boolean;
  /** One line per mismatch ("request.headers.set.x-id: expected …, got …"); empty when it passes. */
  diff: string[];
  steps: Partial<Record<Phase, PhaseStep>>;
}

/** Reads and validates a fixture file (.yaml, .yml or .json); errors name the file and the key. */
export function loadFixture(path: string): LuaFixture {
  const text = readFileSync(path, 'utf8');
  const raw: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  return parseFixture(raw, path);
}

function parseFixture(raw: unknown, source: string): LuaFixture {
  const r = fixtureSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(lines.join('\n'));
  }
  return r.data;
}

const scriptCache = new Map<string, LuaScript>();

/**
 * Runs a fixture against a script (a path, or a compiled LuaScript). The
 * fixture is an object or a path to a fixture file. The request phase runs
 * first, then the response phase on the same stream; a phase that asks for
 * the body gets the fixture's body (or none).
 */
export function runFixture(script: string | LuaScript, fixture: LuaFixture | string): FixtureResult {
  const fx = typeof fixture === 'string' ? loadFixture(fixture) : parseFixture(fixture, 'fixture');
  const compiled = typeof script === 'string' ? compileFile(script, fx.limits ?? {}) : script;
  const c = fx.context ?? {};
  const ctx: StreamContext = {
    ...(c.routeMetadata !== undefined ? { routeMetadata: c.routeMetadata } : {}),
    ...(c.filterContext !== undefined ? { filterContext: c.filterContext } : {}),
    ...(c.dynamicMetadata !== undefined ? { dynamicMetadata: c.dynamicMetadata } : {}),
    ...(c.streamInfo !== undefined ? { streamInfo: c.streamInfo } : {}),
    ...(c.ssl !== undefined ? { ssl: c.ssl as StreamContext['ssl'] } : {}),
    now: c.now !== undefined ? () => c.now as number : () => 1_700_000_000_000,
  };
  // Each fixture is a first request: private globals, so fixtures do not depend on their order.
  const stream = compiled.newStream(ctx, { isolated: true });
  const diff: string[] = [];
  const steps: FixtureResult['steps'] = {};
  for (const phase of ['request', 'response'] as const) {
    const spec = fx[phase];
    if (spec === undefined) continue;
    const { step, logs, metadata } = runPhase(stream, phase, spec);
    steps[phase] = step;
    compare(phase, spec.expect, step, logs, metadata, diff);
  }
  return { pass: diff.length === 0, diff, steps };
}

function compileFile(path: string, limits: Partial<Record<string, number>>): LuaScript {
  const key = `${path}\0${JSON.stringify(limits)}`;
  let s = scriptCache.get(key);
  if (s === undefined) {
    const name = path.split(/[\\/]/).pop() as string;
    s = LuaScript.compile(readFileSync(path), name, limits);
    scriptCache.set(key, s);
  }
  return s;
}

type PhaseSpec = NonNullable<LuaFixture['request']>;

function headerList(h: z.infer<typeof headerInput>): Array<[string, string]> {
  if (Array.isArray(h)) return h.map(([k, v]) => [k, String(v)]);
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(h)) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, String(one)]);
  }
  return out;
}

function bodyBytes(b: z.infer<typeof bodyInput>): Buffer {
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  if ('json' in b) return Buffer.from(JSON.stringify(b.json), 'utf8');
  return Buffer.from(b.base64, 'base64');
}

function runPhase(
  stream: ReturnType<LuaScript['newStream']>,
  phase: Phase,
  spec: PhaseSpec,
): { step: PhaseStep; logs: LogEntry[]; metadata: Record<string, Record<string, JsonValue>> } {
  const hasBody = spec.body !== undefined;
  const hasTrailers = spec.trailers !== undefined;
  const logs: LogEntry[] = [];
  const metadata: Record<string, Record<string, JsonValue>> = {};
  let headers: HeaderMutation | undefined;
  let bodyOut: Buffer | undefined;
  const collect = (s: PhaseStep): void => {
    logs.push(...s.logs);
    for (const [ns, fields] of Object.entries(s.dynamicMetadata)) metadata[ns] = { ...(metadata[ns] ?? {}), ...fields };
    const released = s.kind === 'error' ? s.partial : s.kind === 'respond' ? {} : s;
    if ('headers' in released && released.headers !== undefined) headers ??= released.headers;
    if ('body' in released && released.body !== undefined) bodyOut = released.body;
  };
  let step = stream.begin(phase, headerList(spec.headers), { endOfStream: !hasBody && !hasTrailers });
  collect(step);
  const trailers = hasTrailers ? headerList(spec.trailers as z.infer<typeof headerInput>) : null;
  let chunkSent = false;
  for (let guard = 0; guard < 8; guard++) {
    if (step.kind === 'needs_body') {
      step = stream.provideBody(hasBody ? bodyBytes(spec.body as z.infer<typeof bodyInput>) : null, {
        endOfStream: !hasTrailers,
        ...(trailers !== null ? { trailers } : {}),
      });
    } else if (step.kind === 'needs_body_chunk') {
      if (!chunkSent && hasBody) {
        chunkSent = true;
        step = stream.provideBodyChunk(bodyBytes(spec.body as z.infer<typeof bodyInput>), { endOfStream: !hasTrailers });
      } else if (hasTrailers) step = stream.provideTrailers(trailers);
      else step = stream.provideBodyChunk(null, { endOfStream: true });
    } else if (step.kind === 'needs_trailers') {
      step = stream.provideTrailers(trailers);
    } else break;
    collect(step);
  }
  // Report the phase's merged header mutation and replaced body on the final step.
  const final = step;
  if (final.kind === 'done' || final.kind === 'error') {
    const merged = { ...final } as PhaseStep & { headers?: HeaderMutation; body?: Buffer };
    if (headers !== undefined) merged.headers = headers;
    if (bodyOut !== undefined) merged.body = bodyOut;
    return { step: merged, logs, metadata };
  }
  return { step: final, logs, metadata };
}

type Expect = z.infer<typeof expectSchema>;

function show(v: unknown): string {
  // Buffer's toJSON runs before a replacer sees it.
  return JSON.stringify(v, (_k, x: unknown) => {
    const o = x as { type?: unknown; data?: unknown } | null;
    return o !== null && typeof o === 'object' && o.type === 'Buffer' && Array.isArray(o.data) ? Buffer.from(o.data as number[]).toString('utf8') : x;
  });
}

function matches(m: z.infer<typeof valueMatcher> | number, actual: string, substring = false): boolean {
  if (typeof m === 'string') return substring ? actual.includes(m) : m === actual;
  if (typeof m === 'number') return String(m) === actual;
  return new RegExp(m.match).test(actual);
}

function compareValues(where: string, expected: z.infer<typeof headerValues>, actual: Buffer[], diff: string[]): void {
  const want = Array.isArray(expected) ? expected : [expected];
  const got = actual.map((b) => b.toString('utf8'));
  if (want.length !== got.length || !want.every((w, i) => matches(w, got[i] as string))) {
    diff.push(`${where}: expected ${show(want)}, got ${show(got)}`);
  }
}

function compareMutation(where: string, expected: z.infer<typeof headerExpect>, actual: HeaderMutation | undefined, diff: string[]): void {
  const set = new Map((actual?.set ?? []).map((s) => [s.name, s.values] as const));
  const removed = new Set(actual?.remove ?? []);
  if (expected === 'unchanged') {
    if (actual?.changed) diff.push(`${where}: expected unchanged, got set ${show([...set.keys()])} remove ${show([...removed])}`);
    return;
  }
  const wantSet = expected.set ?? {};
  for (const [name, values] of Object.entries(wantSet)) {
    const got = set.get(name);
    if (got === undefined) diff.push(`${where}.set.${name}: expected ${show(values)}, but it was not set`);
    else compareValues(`${where}.set.${name}`, values, got, diff);
  }
  for (const name of set.keys()) {
    if (!(name in wantSet)) diff.push(`${where}.set.${name}: not expected, got ${show(set.get(name))}`);
  }
  const wantRemove = new Set(expected.remove ?? []);
  for (const name of wantRemove) if (!removed.has(name)) diff.push(`${where}.remove: expected ${name} to be removed`);
  for (const name of removed) if (!wantRemove.has(name)) diff.push(`${where}.remove: ${name} removed unexpectedly`);
}

function compareBody(where: string, expected: z.infer<typeof bodyInput> | null, actual: Buffer | undefined, diff: string[]): void {
  if (expected === null) {
    if (actual !== undefined) diff.push(`${where}: expected the body unchanged, got ${show(actual.toString('utf8'))}`);
    return;
  }
  if (actual === undefined) {
    diff.push(`${where}: expected ${show(expected)}, but the body was not replaced`);
    return;
  }
  if (typeof expected === 'object' && 'json' in expected) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(actual.toString('utf8'));
    } catch {
      diff.push(`${where}: expected JSON ${show(expected.json)}, got non-JSON ${show(actual.toString('utf8'))}`);
      return;
    }
    if (!isDeepStrictEqual(parsed, expected.json)) diff.push(`${where}: expected JSON ${show(expected.json)}, got ${show(parsed)}`);
    return;
  }
  const want = bodyBytes(expected);
  if (!want.equals(actual)) diff.push(`${where}: expected ${show(want.toString('utf8'))}, got ${show(actual.toString('utf8'))}`);
}

function compare(
  phase: Phase,
  e: Expect,
  step: PhaseStep,
  logs: LogEntry[],
  metadata: Record<string, Record<string, JsonValue>>,
  diff: string[],
): void {
  const kind = e.kind ?? (e.respond !== undefined ? 'respond' : e.error !== undefined ? 'error' : 'done');
  if (step.kind !== kind) {
    const detail = step.kind === 'error' ? ` (${step.code}: ${step.message})` : step.kind === 'respond' ? ` (${step.status})` : '';
    diff.push(`${phase}.kind: expected ${kind}, got ${step.kind}${detail}`);
    return;
  }
  if (e.headers !== undefined && step.kind !== 'respond') {
    compareMutation(`${phase}.headers`, e.headers, 'headers' in step ? (step.headers as HeaderMutation | undefined) : undefined, diff);
  }
  if (e.body !== undefined && step.kind !== 'respond') compareBody(`${phase}.body`, e.body, 'body' in step ? step.body : undefined, diff);
  if (e.trailers !== undefined && (step.kind === 'done' || step.kind === 'error')) {
    const t = step.kind === 'done' ? step.trailers : step.partial.trailers;
    compareMutation(`${phase}.trailers`, e.trailers, t, diff);
  }
  if (e.respond !== undefined && step.kind === 'respond') {
    if (step.status !== e.respond.status) diff.push(`${phase}.respond.status: expected ${e.respond.status}, got ${step.status}`);
    const got = new Map<string, Buffer[]>();
    for (const [k, v] of step.headers) got.set(k, [...(got.get(k) ?? []), v]);
    const want = e.respond.headers ?? {};
    for (const [name, values] of Object.entries(want)) compareValues(`${phase}.respond.headers.${name}`, values, got.get(name) ?? [], diff);
    for (const name of got.keys()) if (!(name in want)) diff.push(`${phase}.respond.headers.${name}: not expected, got ${show(got.get(name))}`);
    if (e.respond.body !== undefined) compareBody(`${phase}.respond.body`, e.respond.body, step.body, diff);
  }
  if (e.error !== undefined && step.kind === 'error') {
    if (step.code !== e.error.code) diff.push(`${phase}.error.code: expected ${e.error.code}, got ${step.code} (${step.message})`);
    if (e.error.message !== undefined && !step.message.includes(e.error.message)) {
      diff.push(`${phase}.error.message: expected it to contain ${show(e.error.message)}, got ${show(step.message)}`);
    }
  }
  if (e.dynamicMetadata !== undefined && !isDeepStrictEqual(metadata, e.dynamicMetadata)) {
    diff.push(`${phase}.dynamicMetadata: expected ${show(e.dynamicMetadata)}, got ${show(metadata)}`);
  }
  if (e.logs !== undefined) {
    let from = 0;
    for (const want of e.logs) {
      const i = logs.findIndex((l, j) => j >= from && (want.level === undefined || l.level === want.level) && matches(want.message, l.message, true));
      if (i < 0) diff.push(`${phase}.logs: expected an entry ${show(want)} (in order), got ${show(logs)}`);
      else from = i + 1;
    }
  }
}
