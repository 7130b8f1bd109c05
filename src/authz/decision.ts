/**
 * Reads a policy result under OPA-Envoy's contract (envoyauth/response.go):
 * a boolean, or an object with a boolean `allowed` and optional keys. Each
 * getter accepts what OPA-Envoy accepts and fails with "expected X, got Y".
 * Pure: JSON in, plain data out.
 */

/** One header or query parameter to set. */
export type Pair = readonly [key: string, value: string];

/** A decision in the shape the response builder needs. */
export interface Decision {
  readonly allowed: boolean;
  /** False for a bare boolean decision: Envoy then gets no HTTP response part. */
  readonly isObject: boolean;
  readonly headers: Pair[];
  readonly responseHeadersToAdd: Pair[];
  readonly requestHeadersToRemove: string[];
  readonly queryParametersToSet: Pair[];
  readonly queryParametersToRemove: string[];
  readonly body: string;
  readonly httpStatus: number;
  readonly dynamicMetadata: Record<string, unknown> | undefined;
}

/** Thrown when a result breaks the contract; the message says what and where. */
export class ContractError extends Error {
  override name = 'ContractError';
}

/**
 * HTTP statuses a denial may carry: those Go's net/http knows (OPA-Envoy
 * checks http.StatusText) that Envoy's type.v3.StatusCode enum also has.
 */
export const DENY_STATUSES: ReadonlySet<number> = new Set([
  100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
  405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431, 500, 501, 502,
  503, 504, 505, 506, 507, 508, 510, 511,
]);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function headerMapInto(out: Pair[], map: Record<string, unknown>): void {
  for (const key of Object.keys(map)) {
    const value = map[key];
    if (typeof value === 'string') out.push([key, value]);
    else if (Array.isArray(value)) {
      for (const v of value) {
        if (typeof v !== 'string') throw new ContractError(`header '${key}': expected string values, got ${typeName(v)}`);
        out.push([key, v]);
      }
    } else throw new ContractError(`header '${key}': expected string or array of strings, got ${typeName(value)}`);
  }
}

/** `headers`-style fields: an object, or an array of objects; values are strings or string arrays. */
function headersOf(decision: Record<string, unknown>, field: string): Pair[] {
  const value = decision[field];
  const out: Pair[] = [];
  if (value === undefined) return out;
  if (isObject(value)) headerMapInto(out, value);
  else if (Array.isArray(value)) {
    for (const item of value) {
      if (!isObject(item)) throw new ContractError(`${field}: expected object items, got ${typeName(item)}`);
      headerMapInto(out, item);
    }
  } else throw new ContractError(`${field}: expected object or array of objects, got ${typeName(value)}`);
  return out;
}

function stringsOf(decision: Record<string, unknown>, field: string): string[] {
  const value = decision[field];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ContractError(`${field}: expected array of strings, got ${typeName(value)}`);
  for (const v of value) if (typeof v !== 'string') throw new ContractError(`${field}: expected string items, got ${typeName(v)}`);
  return value as string[];
}

function queryToSet(decision: Record<string, unknown>): Pair[] {
  const value = decision['query_parameters_to_set'];
  if (value === undefined) return [];
  if (!isObject(value)) throw new ContractError(`query_parameters_to_set: expected object, got ${typeName(value)}`);
  const out: Pair[] = [];
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v === 'string') out.push([key, v]);
    else if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item !== 'string') throw new ContractError(`query_parameters_to_set.${key}: expected string items, got ${typeName(item)}`);
        out.push([key, item]);
      }
    } else throw new ContractError(`query_parameters_to_set.${key}: expected string or array, got ${typeName(v)}`);
  }
  return out;
}

function httpStatusOf(decision: Record<string, unknown>): number {
  const value = decision['http_status'];
  if (value === undefined) return 403;
  if (typeof value !== 'number') throw new ContractError(`http_status: expected number, got ${typeName(value)}`);
  if (!Number.isInteger(value)) throw new ContractError(`http_status: expected an integer, got ${value}`);
  if (!DENY_STATUSES.has(value)) throw new ContractError(`http_status: invalid HTTP status code ${value}`);
  return value;
}

/** True when every number inside is finite: a protobuf Struct cannot carry 1e400 (OPA-Envoy fails there too). */
function allFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(allFinite);
  if (isObject(v)) return Object.values(v).every(allFinite);
  return true;
}

const EMPTY: never[] = [];

/**
 * Interprets an evaluated decision. Fields are read only where OPA-Envoy
 * reads them: on allow the upstream mutations, on deny `body` and
 * `http_status`; `headers` and `dynamic_metadata` on both.
 */
export function readDecision(result: unknown): Decision {
  if (typeof result === 'boolean') {
    return {
      allowed: result, isObject: false, headers: EMPTY, responseHeadersToAdd: EMPTY, requestHeadersToRemove: EMPTY,
      queryParametersToSet: EMPTY, queryParametersToRemove: EMPTY, body: '', httpStatus: 403, dynamicMetadata: undefined,
    };
  }
  if (!isObject(result)) throw new ContractError(`decision: expected boolean or object, got ${typeName(result)}`);
  if (!('allowed' in result)) throw new ContractError('decision: missing "allowed" key');
  const allowed = result['allowed'];
  if (typeof allowed !== 'boolean') throw new ContractError(`allowed: expected boolean, got ${typeName(allowed)}`);

  const headers = headersOf(result, 'headers');
  const metadata = result['dynamic_metadata'];
  if (metadata !== undefined && !isObject(metadata)) {
    throw new ContractError(`dynamic_metadata: expected object, got ${typeName(metadata)}`);
  }
  if (metadata !== undefined && !allFinite(metadata)) {
    throw new ContractError('dynamic_metadata: numbers must be finite (out of float64 range)');
  }
  let body = '';
  let httpStatus = 403;
  if (!allowed) {
    const b = result['body'];
    if (b !== undefined && typeof b !== 'string') throw new ContractError(`body: expected string, got ${typeName(b)}`);
    body = b ?? '';
    httpStatus = httpStatusOf(result);
  }
  return {
    allowed,
    isObject: true,
    headers,
    responseHeadersToAdd: allowed ? headersOf(result, 'response_headers_to_add') : EMPTY,
    requestHeadersToRemove: allowed ? stringsOf(result, 'request_headers_to_remove') : EMPTY,
    queryParametersToSet: allowed ? queryToSet(result) : EMPTY,
    queryParametersToRemove: allowed ? stringsOf(result, 'query_parameters_to_remove') : EMPTY,
    body,
    httpStatus,
    dynamicMetadata: metadata,
  };
}
