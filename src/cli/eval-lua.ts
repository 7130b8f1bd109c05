/**
 * `iacdash eval --lua SCRIPT.lua --request FIXTURE`: one request and/or
 * response through a Lua script, without Envoy. The request file is a Lua
 * fixture (src/lua/fixtures.ts; its `expect` keys are allowed and ignored),
 * so a fixture a test already has can be evaluated as it stands.
 */
import { readFileSync } from 'node:fs';
import { loadFixture, LuaCompileError, LuaScript, type HeaderList, type HeaderMutation, type JsonValue, type LogEntry, type LuaFixture, type Phase, type PhaseStep, type StreamContext } from '../lua/index.js';
import { headerObject, readDataFile, requireFile, showBytes } from './eval-input.js';

type PhaseSpec = NonNullable<LuaFixture['request']>;
type BodySpec = NonNullable<PhaseSpec['body']>;

function headerList(h: PhaseSpec['headers']): Array<[string, string]> {
  if (Array.isArray(h)) return h.map(([k, v]) => [k, String(v)]);
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(h)) for (const one of Array.isArray(v) ? v : [v]) out.push([k, String(one)]);
  return out;
}

function bodyBytes(b: BodySpec): Buffer {
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  if ('json' in b) return Buffer.from(JSON.stringify(b.json), 'utf8');
  return Buffer.from(b.base64, 'base64');
}

function contextOf(fx: LuaFixture): StreamContext {
  const c = fx.context ?? {};
  const now = c.now ?? 1_700_000_000_000;
  return {
    ...(c.routeMetadata !== undefined ? { routeMetadata: c.routeMetadata } : {}),
    ...(c.filterContext !== undefined ? { filterContext: c.filterContext } : {}),
    ...(c.dynamicMetadata !== undefined ? { dynamicMetadata: c.dynamicMetadata } : {}),
    ...(c.streamInfo !== undefined ? { streamInfo: c.streamInfo } : {}),
    ...(c.ssl !== undefined ? { ssl: c.ssl as StreamContext['ssl'] } : {}),
    now: () => now,
  };
}

function showMutation(m: HeaderMutation | undefined): Record<string, unknown> {
  if (m === undefined || !m.changed) return { changed: false };
  return {
    changed: true,
    set: Object.fromEntries(m.set.map((s) => [s.name, s.values.map((v) => showBytes(v))])),
    remove: m.remove,
    result: headerObject(m.headers),
  };
}

/** Runs one phase to its end, feeding the fixture's body and trailers when the script asks; collects every step's logs and metadata. */
function runPhase(stream: ReturnType<LuaScript['newStream']>, phase: Phase, spec: PhaseSpec): Record<string, unknown> {
  const hasBody = spec.body !== undefined;
  const trailers: HeaderList | null = spec.trailers !== undefined ? headerList(spec.trailers) : null;
  const logs: LogEntry[] = [];
  const metadata: Record<string, Record<string, JsonValue>> = {};
  let headers: HeaderMutation | undefined;
  let body: Buffer | undefined;
  let trailerMutation: HeaderMutation | undefined;
  const collect = (s: PhaseStep): void => {
    logs.push(...s.logs);
    for (const [ns, fields] of Object.entries(s.dynamicMetadata)) metadata[ns] = { ...(metadata[ns] ?? {}), ...fields };
    const released = s.kind === 'error' ? s.partial : s.kind === 'respond' ? {} : s;
    if ('headers' in released && released.headers !== undefined) headers ??= released.headers;
    if ('body' in released && released.body !== undefined) body = released.body;
    if ('trailers' in released && released.trailers !== undefined) trailerMutation = released.trailers;
  };
  let step = stream.begin(phase, headerList(spec.headers), { endOfStream: !hasBody && trailers === null });
  collect(step);
  let chunkSent = false;
  // Each round answers one wait; a script can wait for a body, its chunks and trailers, no more.
  for (let guard = 0; guard < 8; guard++) {
    if (step.kind === 'needs_body') {
      step = stream.provideBody(hasBody ? bodyBytes(spec.body as BodySpec) : null, { endOfStream: trailers === null, ...(trailers !== null ? { trailers } : {}) });
    } else if (step.kind === 'needs_body_chunk') {
      if (!chunkSent && hasBody) {
        chunkSent = true;
        step = stream.provideBodyChunk(bodyBytes(spec.body as BodySpec), { endOfStream: trailers === null });
      } else if (trailers !== null) step = stream.provideTrailers(trailers);
      else step = stream.provideBodyChunk(null, { endOfStream: true });
    } else if (step.kind === 'needs_trailers') {
      step = stream.provideTrailers(trailers);
    } else break;
    collect(step);
  }
  const out: Record<string, unknown> = { kind: step.kind };
  if (step.kind === 'done' && step.skipped) out['skipped'] = `the script defines no envoy_on_${phase}`;
  if (step.kind === 'respond') {
    out['respond'] = { status: step.status, headers: headerObject(step.headers), body: step.body === undefined ? null : showBytes(step.body) };
  } else {
    if (step.kind === 'error') out['error'] = { code: step.code, message: step.message, ...(step.traceback ? { traceback: step.traceback } : {}) };
    out['headers'] = showMutation(headers);
    out['body'] = body === undefined ? null : showBytes(body);
    if (trailerMutation !== undefined) out['trailers'] = showMutation(trailerMutation);
  }
  out['dynamicMetadata'] = metadata;
  out['logs'] = logs;
  return out;
}

/** Options of {@link evalLua}. */
export interface EvalLuaOptions {
  readonly script: string;
  readonly request: string;
  /** Only this phase; by default every phase the fixture has, on one stream (as runFixture runs them). */
  readonly phase?: Phase | undefined;
  readonly explain: boolean;
}

/** Evaluates and returns what to print. Bad files throw errors naming the file. */
export function evalLua(opts: EvalLuaOptions): Record<string, unknown> {
  requireFile(opts.script, 'the Lua script');
  readDataFile(opts.request, 'the Lua fixture'); // syntax errors with FILE:LINE first
  const fx = loadFixture(opts.request); // then the schema, with FILE: key: message
  const phases = (opts.phase ? [opts.phase] : (['request', 'response'] as const)).filter((p) => fx[p] !== undefined);
  if (phases.length === 0) {
    throw new Error(`${opts.request}: has no ${opts.phase ?? 'request or response'} phase to run`);
  }
  let script: LuaScript;
  try {
    script = LuaScript.compile(readFileSync(opts.script), opts.script, fx.limits ?? {});
  } catch (err) {
    if (err instanceof LuaCompileError) throw new Error(err.message.startsWith(opts.script) ? err.message : `${opts.script}: ${err.message}`);
    throw err;
  }
  const out: Record<string, unknown> = {};
  if (opts.explain) {
    const input: Record<string, unknown> = { context: fx.context ?? {} };
    for (const phase of phases) {
      const spec = fx[phase] as PhaseSpec;
      input[phase] = {
        headers: headerObject(headerList(spec.headers)),
        body: spec.body === undefined ? null : showBytes(bodyBytes(spec.body)),
        ...(spec.trailers !== undefined ? { trailers: headerObject(headerList(spec.trailers)) } : {}),
      };
    }
    out['input'] = input;
  }
  const stream = script.newStream(contextOf(fx));
  for (const phase of phases) {
    out[phase] = runPhase(stream, phase, fx[phase] as PhaseSpec);
  }
  return out;
}
