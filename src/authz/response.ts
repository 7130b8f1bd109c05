/**
 * Decision → Envoy CheckResponse, as a plain object in proto-loader's
 * object form (lowerCamelCase). Mirrors opa-envoy-plugin's internal.go:
 * an object decision always carries an ok or denied HTTP response, a
 * boolean one only the status; `decision_id` goes into dynamic metadata.
 */
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Decision, Pair } from './decision.js';

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;

/** google.protobuf.Value in protobufjs object form. */
type ProtoValue =
  | { nullValue: 0 }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: ProtoStruct }
  | { listValue: { values: ProtoValue[] } };

/** google.protobuf.Struct in protobufjs object form. */
export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

/** The CheckResponse we hand to the grpc-js serializer. */
export interface CheckResponseObject {
  status: { code: number; message?: string };
  okResponse?: Record<string, unknown>;
  deniedResponse?: { status?: { code: number }; headers?: unknown[]; body?: string };
  dynamicMetadata?: ProtoStruct;
}

function toValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

/** Plain object → google.protobuf.Struct (Go's structpb.NewStruct). */
export function jsonToStruct(obj: Record<string, unknown>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const key of Object.keys(obj)) fields[key] = toValue(obj[key]);
  return { fields };
}

function fromValue(v: ProtoValue): unknown {
  if ('structValue' in v) return structToJson(v.structValue);
  if ('listValue' in v) return v.listValue.values.map(fromValue);
  if ('numberValue' in v) return v.numberValue;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  return null;
}

/** google.protobuf.Struct → plain object, for printing a response. */
export function structToJson(struct: ProtoStruct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(struct.fields)) out[key] = fromValue(struct.fields[key]!);
  return out;
}

function headerOptions(pairs: Pair[]): { header: { key: string; value: string } }[] {
  return pairs.map(([key, value]) => ({ header: { key, value } }));
}

function withDecisionId(metadata: Record<string, unknown> | undefined, decisionId: string): ProtoStruct {
  const struct = metadata ? jsonToStruct(metadata) : { fields: {} };
  struct.fields['decision_id'] = { stringValue: decisionId };
  return struct;
}

/** Builds the CheckResponse for a decision; `dryRun` turns a denial into OK, as OPA-Envoy does. */
export function decisionToResponse(decision: Decision, decisionId: string, dryRun: boolean): CheckResponseObject {
  const response: CheckResponseObject = { status: { code: decision.allowed ? GRPC_OK : GRPC_PERMISSION_DENIED } };
  if (decision.isObject) {
    if (decision.allowed) {
      const ok: Record<string, unknown> = {};
      if (decision.headers.length) ok['headers'] = headerOptions(decision.headers);
      if (decision.requestHeadersToRemove.length) ok['headersToRemove'] = decision.requestHeadersToRemove;
      if (decision.responseHeadersToAdd.length) ok['responseHeadersToAdd'] = headerOptions(decision.responseHeadersToAdd);
      if (decision.queryParametersToRemove.length) ok['queryParametersToRemove'] = decision.queryParametersToRemove;
      if (decision.queryParametersToSet.length) {
        ok['queryParametersToSet'] = decision.queryParametersToSet.map(([key, value]) => ({ key, value }));
      }
      response.okResponse = ok;
    } else {
      response.deniedResponse = { status: { code: decision.httpStatus } };
      if (decision.headers.length) response.deniedResponse.headers = headerOptions(decision.headers);
      if (decision.body) response.deniedResponse.body = decision.body;
    }
  }
  if (dryRun && !decision.allowed) {
    response.status = { code: GRPC_OK };
    delete response.deniedResponse;
    response.okResponse = {};
  }
  response.dynamicMetadata = withDecisionId(decision.dynamicMetadata, decisionId);
  return response;
}

/**
 * The answer for a request we refuse before or instead of a policy decision
 * (bad input, or a failed evaluation under `failure_mode: deny`). Like
 * OPA-Envoy, a parse failure tells the client what failed to parse
 * (`clientDetail`); evaluation details stay in our logs.
 */
export function errorToResponse(
  code: ErrorCode,
  decisionId: string,
  opts: { clientDetail?: string; httpStatus?: number } = {},
): CheckResponseObject {
  const text = opts.clientDetail ? `${code}: ${opts.clientDetail}` : `${code}: ${ERRORS[code].message}`;
  return {
    status: { code: GRPC_PERMISSION_DENIED, message: text },
    deniedResponse: { status: { code: opts.httpStatus ?? ERRORS[code].http }, body: text },
    dynamicMetadata: withDecisionId(undefined, decisionId),
  };
}

/** OK with no mutations: `failure_mode: allow` after an error. */
export function failOpenResponse(code: ErrorCode, decisionId: string): CheckResponseObject {
  return { status: { code: GRPC_OK, message: code }, okResponse: {}, dynamicMetadata: withDecisionId(undefined, decisionId) };
}
