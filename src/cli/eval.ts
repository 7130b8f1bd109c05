/** `iacdash eval`: one CheckRequest against a bundle, without Envoy. */
import { readFileSync } from 'node:fs';
import { AUTHZ_DECODE, Authorizer, type CheckRequestObject } from '../authz/index.js';
import { structToJson } from '../json/struct.js';
import type { Config } from '../config/schema.js';
import { IacdashError } from '../errors.js';
import { envoyProtoRoot } from '../server/protos.js';
import { decodeStrict } from '../server/strict-decode.js';
import { createPolicyStore } from '../server/server.js';
import { Logger } from '../telemetry/log.js';

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
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IacdashError('request_malformed', `${file}: ${(err as Error).message}`);
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
