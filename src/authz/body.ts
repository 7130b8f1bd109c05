/**
 * OPA-Envoy's `parsed_body` / `truncated_body`, rule for rule
 * (envoyauth/request.go getParsedBody), plus a nesting limit of our own.
 */
import { parseQuery } from './go-url.js';
import { parseJsonLimited } from './json-limit.js';
import { parseMultipart } from './multipart.js';

/** What the body contributes to the input document. */
export interface ParsedBody {
  readonly parsed: unknown;
  readonly truncated: boolean;
}

const NOTHING: ParsedBody = { parsed: null, truncated: false };
const TRUNCATED: ParsedBody = { parsed: null, truncated: true };

/** Go's strconv.ParseInt(s, 10, 64) acceptance, then OPA-Envoy's truncation test. */
function isTruncated(contentLength: string, bodyBytes: number): boolean {
  if (!/^[+-]?\d+$/.test(contentLength)) throw new Error(`invalid content-length ${JSON.stringify(contentLength)}`);
  const cl = Number(contentLength);
  return cl !== -1 && cl > bodyBytes;
}

/**
 * Parses the body the way OPA-Envoy does: by `content-type`, using `body`
 * or else `rawBody`. Throws on a body that claims a type and fails to parse.
 */
export function parseBody(headers: Record<string, string>, body: string, rawBody: Buffer | undefined, maxDepth: number): ParsedBody {
  if (headers['x-envoy-auth-partial-body'] === 'true') return TRUNCATED;
  const contentType = headers['content-type'];
  if (contentType === undefined) return NOTHING;

  let kind: 'json' | 'form' | 'multipart';
  if (contentType.includes('application/json')) kind = 'json';
  else if (contentType.includes('application/x-www-form-urlencoded')) kind = 'form';
  else if (contentType.includes('multipart/form-data')) kind = 'multipart';
  else return NOTHING; // application/grpc needs a descriptor set, which OPA-Envoy also lacks by default

  let payload = body;
  let payloadBytes: number;
  if (payload === '') {
    if (!rawBody || rawBody.length === 0) return NOTHING;
    payload = rawBody.toString('utf8');
    payloadBytes = rawBody.length;
  } else {
    payloadBytes = Buffer.byteLength(payload);
  }
  const contentLength = headers['content-length'];
  if (contentLength !== undefined && isTruncated(contentLength, payloadBytes)) return TRUNCATED;

  if (kind === 'json') return { parsed: parseJsonLimited(payload, maxDepth), truncated: false };
  if (kind === 'form') {
    const { values, error } = parseQuery(payload);
    if (error) throw error;
    return { parsed: values, truncated: false };
  }
  return { parsed: parseMultipart(contentType, payload, maxDepth), truncated: false };
}
