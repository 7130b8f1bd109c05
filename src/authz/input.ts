/**
 * Envoy CheckRequest → OPA-Envoy input document, as opa-envoy-plugin v1.15
 * builds it (envoyauth/request.go, protomap.go): proto fields under their
 * JSON (lowerCamelCase) names, unset fields absent, int64 and enums as
 * numbers, bytes as base64, Struct as plain JSON, Timestamp as
 * {seconds, nanos}; then `version`, `parsed_path`, `parsed_query`,
 * `parsed_body`, `truncated_body` and `source_principal`.
 * Pure: plain objects in, plain objects out; no gRPC types.
 */
import type { ErrorCode } from '../errors.js';
import { parseBody } from './body.js';
import { parsePathAndQuery } from './go-url.js';

/** The CheckRequest as our strict decoder returns it (lowerCamelCase, Buffers for bytes). */
export interface CheckRequestObject {
  attributes?: {
    source?: { principal?: string; [k: string]: unknown };
    request?: {
      http?: {
        method?: string;
        path?: string;
        headers?: Record<string, string>;
        body?: string;
        rawBody?: Buffer;
        [k: string]: unknown;
      };
      [k: string]: unknown;
    };
    metadataContext?: { filterMetadata?: Record<string, unknown>; [k: string]: unknown };
    routeMetadataContext?: { filterMetadata?: Record<string, unknown>; [k: string]: unknown };
    [k: string]: unknown;
  };
}

/** Limits applied while building the input; each has its own error code. */
export interface InputOptions {
  readonly skipBodyParse: boolean;
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  readonly maxJsonDepth: number;
}

/** The input document, or the error code and detail that refuse the request. */
export type InputResult =
  | { readonly ok: true; readonly input: Record<string, unknown> }
  | { readonly ok: false; readonly code: ErrorCode; readonly detail: string };

const VERSION = Object.freeze({ ext_authz: 'v3', encoding: 'protojson' });

/** google.protobuf.Value in protobufjs object form → plain JSON. */
function valueToJson(v: Record<string, unknown>): unknown {
  if ('structValue' in v) return structToJson(v['structValue'] as Record<string, unknown>);
  if ('listValue' in v) return ((v['listValue'] as { values?: Record<string, unknown>[] }).values ?? []).map(valueToJson);
  if ('stringValue' in v) return v['stringValue'];
  if ('numberValue' in v) return v['numberValue'];
  if ('boolValue' in v) return v['boolValue'];
  return null;
}

/** google.protobuf.Struct → plain object (Go's Struct.AsMap). */
export function structToJson(s: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (s['fields'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const key of Object.keys(fields)) out[key] = valueToJson(fields[key]!);
  return out;
}

/** Replaces Buffers by base64 strings in place, as Go's JSON rendering of []byte does. */
function bytesToBase64(node: Record<string, unknown> | unknown[]): void {
  const keys = Array.isArray(node) ? node.keys() : Object.keys(node);
  for (const k of keys) {
    const v = (node as Record<string | number, unknown>)[k];
    if (v === null || typeof v !== 'object') continue;
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
      (node as Record<string | number, unknown>)[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    } else {
      bytesToBase64(v as Record<string, unknown>);
    }
  }
}

function structsToJson(metadata: { filterMetadata?: Record<string, unknown> } | undefined): void {
  const fm = metadata?.filterMetadata;
  if (!fm) return;
  for (const ns of Object.keys(fm)) fm[ns] = structToJson(fm[ns] as Record<string, unknown>);
}

function headerBytes(headers: Record<string, string>): number {
  let n = 0;
  for (const k of Object.keys(headers)) n += k.length + headers[k]!.length;
  return n;
}

/**
 * Builds the OPA-Envoy input from a decoded CheckRequest. The request object
 * is consumed: it is converted in place to avoid copying it per request.
 */
export function checkRequestToInput(req: CheckRequestObject, opts: InputOptions): InputResult {
  const http = req.attributes?.request?.http;
  const headers = http?.headers ?? {};
  const body = http?.body ?? '';
  const rawBody = http?.rawBody;

  if (headerBytes(headers) > opts.maxHeaderBytes) {
    return { ok: false, code: 'request_headers_too_large', detail: `more than ${opts.maxHeaderBytes} bytes of headers` };
  }
  if (body.length + (rawBody?.length ?? 0) > opts.maxBodyBytes) {
    return { ok: false, code: 'request_body_too_large', detail: `more than ${opts.maxBodyBytes} bytes of body` };
  }

  const input = req as Record<string, unknown>;
  if (req.attributes) {
    structsToJson(req.attributes.metadataContext);
    structsToJson(req.attributes.routeMetadataContext);
  }
  try {
    const { parsedPath, parsedQuery } = parsePathAndQuery(http?.path ?? '');
    const parsedBody = opts.skipBodyParse ? undefined : parseBody(headers, body, rawBody, opts.maxJsonDepth);
    bytesToBase64(input);
    input['version'] = VERSION;
    input['parsed_path'] = parsedPath;
    input['parsed_query'] = parsedQuery;
    if (parsedBody) {
      input['parsed_body'] = parsedBody.parsed;
      input['truncated_body'] = parsedBody.truncated;
    }
  } catch (err) {
    return { ok: false, code: 'request_parse_error', detail: (err as Error).message };
  }
  const principal = req.attributes?.source?.principal;
  if (principal) input['source_principal'] = principal;
  return { ok: true, input };
}
