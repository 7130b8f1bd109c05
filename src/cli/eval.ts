/**
 * `iacdash eval`: one request through one engine, without Envoy: a
 * CheckRequest against a policy bundle (ext_authz), a request or response
 * through a Lua script (ext_proc), or a request through a proxy-wasm filter.
 * It prints the result as JSON, and with `--explain` the input the engine saw.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AUTHZ_DECODE, Authorizer, type CheckRequestObject } from '../authz/index.js';
import { structToJson } from '../json/struct.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { IacdashError } from '../errors.js';
import { envoyProtoRoot } from '../server/protos.js';
import { decodeStrict } from '../server/strict-decode.js';
import { createPolicyStore } from '../server/server.js';
import { Logger } from '../telemetry/log.js';
import { lineColumn, requireFile } from './eval-input.js';
import { evalLua } from './eval-lua.js';
import { evalWasm } from './eval-wasm.js';
import { UsageError } from './usage-error.js';

/** RFC 3339 text → google.protobuf.Timestamp object form, keeping nanoseconds. */
function timestampFromJson(text: string): { seconds: number; nanos?: number } {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new IacdashError('request_malformed', `attributes.request.time: not an RFC 3339 timestamp: ${text}`);
  const nanos = Number((m[2] ?? '').padEnd(9, '0'));
  // Zero fields are absent on the wire, as Envoy sends them.
  return nanos ? { seconds: ms / 1000, nanos } : { seconds: ms / 1000 };
}

/** google.protobuf.Struct and Value from their protojson (plain JSON) form. */
function structFromJson(obj: Record<string, unknown>): Record<string, unknown> {
  const value = (v: unknown): Record<string, unknown> => {
    if (v === null) return { nullValue: 0 };
    if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
    if (typeof v === 'object') return { structValue: structFromJson(v as Record<string, unknown>) };
    if (typeof v === 'number') return { numberValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    return { stringValue: String(v) };
  };
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, value(v)])) };
}

/** protobufjs reads most protojson itself; the well-known types in a CheckRequest need this help. */
function wellKnownFromJson(json: any): void {
  const time = json?.attributes?.request?.time;
  if (typeof time === 'string') json.attributes.request.time = timestampFromJson(time);
  for (const ctx of ['metadataContext', 'routeMetadataContext']) {
    const fm = json?.attributes?.[ctx]?.filterMetadata;
    if (fm && typeof fm === 'object') for (const k of Object.keys(fm)) fm[k] = structFromJson(fm[k]);
  }
}

/**
 * Reads a CheckRequest in protojson form (as Envoy's docs and our examples
 * write it) and runs it through the same decoder the server uses.
 */
export function readCheckRequest(file: string): ReturnType<typeof decodeStrict<CheckRequestObject>> {
  const type = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
  let json: unknown;
  const text = readFileSync(file, 'utf8');
  try {
    json = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    const where = at ? lineColumn(text, Number(at[1])) : undefined;
    throw new IacdashError('request_malformed', `${file}${where ? `:${where.line}:${where.column}` : ''}: not JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
  wellKnownFromJson(json);
  let bytes: Uint8Array;
  try {
    // fromObject takes protojson's spellings (int64 as strings, enum names, base64 bytes).
    bytes = type.encode(type.fromObject(json as Record<string, unknown>)).finish();
  } catch (err) {
    throw new IacdashError('request_malformed', `${file}: ${(err as Error).message}`);
  }
  return decodeStrict<CheckRequestObject>(type, Buffer.from(bytes), AUTHZ_DECODE);
}

/** Evaluates and returns what to print: the response, and the input when asked. */
export async function evalCommand(config: Config, requestFile: string, explainInput: boolean): Promise<Record<string, unknown>> {
  const store = createPolicyStore(config);
  let loadError: unknown;
  store.on('load_error', ({ error }) => (loadError = error));
  await store.reload();
  if (!store.engine) throw new IacdashError('bundle_load_error', `${config.bundle.path}: ${(loadError as Error)?.message}`);
  const authorizer = new Authorizer(store, config, new Logger('warn', config.log.mask_headers));
  const out: Record<string, unknown> = {};
  if (explainInput) {
    const again = readCheckRequest(requestFile);
    const built = again.ok ? authorizer.input(again.value) : undefined;
    out['input'] = built?.ok ? built.input : { error: built ? `${built.code}: ${built.detail}` : again.ok ? '' : again.detail };
  }
  const outcome = authorizer.check(readCheckRequest(requestFile));
  if (outcome.kind === 'grpc-error') {
    out['grpc_error'] = { code: outcome.grpcStatus, message: outcome.message };
  } else {
    const { dynamicMetadata, ...rest } = outcome.response;
    out['response'] = dynamicMetadata ? { ...rest, dynamicMetadata: structToJson(dynamicMetadata) } : rest;
  }
  return out;
}

/** The engines `eval` knows, and the flag that names each one's program. */
const ENGINES = { authz: 'bundle', lua: 'lua', wasm: 'wasm' } as const;
type Engine = keyof typeof ENGINES;

const OPTIONS = {
  engine: { type: 'string' },
  bundle: { type: 'string', short: 'b' },
  lua: { type: 'string' },
  wasm: { type: 'string' },
  request: { type: 'string', short: 'r' },
  config: { type: 'string', short: 'c' },
  phase: { type: 'string' },
  explain: { type: 'boolean' },
  /** The old name of --explain. */
  'explain-input': { type: 'boolean' },
} as const;

/** Which engine the flags ask for; conflicting or unknown ones are usage errors. */
export function engineOf(values: { engine?: string | undefined; bundle?: string | undefined; lua?: string | undefined; wasm?: string | undefined }): Engine {
  const named = values.engine;
  if (named !== undefined && !Object.hasOwn(ENGINES, named)) {
    throw new UsageError(`eval: unknown engine ${JSON.stringify(named)} (expected authz, lua or wasm)`);
  }
  const given = (Object.keys(ENGINES) as Engine[]).filter((e) => values[ENGINES[e]] !== undefined);
  if (given.length > 1) throw new UsageError(`eval: ${given.map((e) => `--${ENGINES[e]}`).join(' and ')} conflict: evaluate one engine at a time`);
  const flagged = given[0];
  if (named !== undefined && flagged !== undefined && named !== flagged) {
    throw new UsageError(`eval: --engine ${named} conflicts with --${ENGINES[flagged]}`);
  }
  const engine = (named as Engine | undefined) ?? flagged ?? 'authz';
  if (engine !== 'authz' && flagged === undefined) throw new UsageError(`eval: --engine ${engine} needs --${ENGINES[engine]} FILE`);
  return engine;
}

/** `iacdash eval ARGS`: prints the result; returns the exit code. */
export async function evalCli(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true });
  const engine = engineOf(values);
  const explain = Boolean(values.explain || values['explain-input']);
  const request = values.request;
  if (request === undefined) throw new UsageError(`eval: --request FILE is required`);
  if (values.phase !== undefined && engine !== 'lua') throw new UsageError('eval: --phase applies to --lua only');
  if (values.phase !== undefined && values.phase !== 'request' && values.phase !== 'response') {
    throw new UsageError(`eval: --phase must be request or response, got ${JSON.stringify(values.phase)}`);
  }
  if (values.config !== undefined && engine === 'lua') throw new UsageError('eval: --config applies to --bundle (an iacdash config file) or --wasm (the plugin configuration)');
  requireFile(request, engine === 'authz' ? 'the CheckRequest' : engine === 'lua' ? 'the Lua fixture' : 'the wasm fixture');
  let out: Record<string, unknown>;
  if (engine === 'lua') {
    out = evalLua({ script: values.lua as string, request, phase: values.phase as 'request' | 'response' | undefined, explain });
  } else if (engine === 'wasm') {
    out = await evalWasm({ filter: values.wasm as string, request, config: values.config, explain });
  } else {
    if (values.config !== undefined) requireFile(values.config, 'the iacdash config');
    if (values.bundle !== undefined) requireFile(values.bundle, 'the policy bundle');
    const config = loadConfig(values.config, { bundle: values.bundle });
    if (!config.bundle.path) throw new UsageError('eval: --bundle BUNDLE.tar.gz (or bundle.path in --config) is required');
    out = await evalCommand(config, request, explain);
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
}
