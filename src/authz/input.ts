/**
 * Envoy CheckRequest → OPA-Envoy input document, as opa-envoy-plugin v1.15
 * builds it (envoyauth/request.go). The request arrives already in
 * protomap form (see server/protomap.ts); this adds `version`,
 * `parsed_path`, `parsed_query`, `parsed_body`, `truncated_body` and
 * `source_principal`. Pure: plain objects in, plain objects out.
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
        /** base64, as the input shows it. */
        rawBody?: string;
        [k: string]: unknown;
      };
      [k: string]: unknown;
    };
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

function headerBytes(headers: Record<string, string>): number {
  let n = 0;
  for (const k of Object.keys(headers)) n += k.length + headers[k]!.length;
  return n;
}

/**
 * Builds the OPA-Envoy input from a decoded CheckRequest. The request object
 * becomes the input: fields are added to it rather than copied per request.
 */
export function checkRequestToInput(req: CheckRequestObject, opts: InputOptions): InputResult {
  const http = req.attributes?.request?.http;
  const headers = http?.headers ?? {};
  const body = http?.body ?? '';
  const rawBody = http?.rawBody ? Buffer.from(http.rawBody, 'base64') : undefined;

  if (headerBytes(headers) > opts.maxHeaderBytes) {
    return { ok: false, code: 'request_headers_too_large', detail: `more than ${opts.maxHeaderBytes} bytes of headers` };
  }
  if (body.length + (rawBody?.length ?? 0) > opts.maxBodyBytes) {
    return { ok: false, code: 'request_body_too_large', detail: `more than ${opts.maxBodyBytes} bytes of body` };
  }

  const input = req as Record<string, unknown>;
  try {
    const { parsedPath, parsedQuery } = parsePathAndQuery(http?.path ?? '');
    const parsedBody = opts.skipBodyParse ? undefined : parseBody(headers, body, rawBody, opts.maxJsonDepth);
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
