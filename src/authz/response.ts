/**
 * Decision → Envoy CheckResponse, as a plain object in proto-loader's
 * object form (lowerCamelCase). Mirrors opa-envoy-plugin's internal.go:
 * an object decision always carries an ok or denied HTTP response, a
 * boolean one only the status; `decision_id` goes into dynamic metadata.
 */
import { ERRORS, type ErrorCode } from '../errors.js';
import { jsonToStruct, type ProtoStruct } from '../json/struct.js';
import type { Decision, Pair } from './decision.js';

/** The CheckResponse we hand to the grpc-js serializer. */
export interface CheckResponseObject {
  status: { code: number; message?: string };
  okResponse?: Record<string, unknown>;
  deniedResponse?: { status?: { code: number }; headers?: unknown[]; body?: string };
  dynamicMetadata?: ProtoStruct;
}

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;

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
