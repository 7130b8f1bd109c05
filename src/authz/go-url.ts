/**
 * Path and query parsing with the exact rules of Go's net/url, which
 * OPA-Envoy uses to build `parsed_path` and `parsed_query`: the same inputs
 * parse, and the same inputs fail.
 */
import { isUtf8 } from 'node:buffer';

const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/;
const ESCAPE = /(%[0-9a-fA-F]{2})/;
/** Go's urlmaxqueryparams default. */
const MAX_QUERY_PARAMS = 10_000;

/**
 * Go's unescape: `%XX` to a byte; in query mode `+` is a space too. Bytes
 * that decode to invalid UTF-8 are refused: Go would keep them raw, and
 * replacing them would let `%FF` and `%EF%BF%BD` look alike to a policy.
 */
function unescape(s: string, query: boolean): string {
  const bad = BAD_ESCAPE.exec(s);
  // Same text as Go's url.EscapeError, quoted from the original string.
  if (bad) throw new Error(`invalid URL escape ${JSON.stringify(s.slice(bad.index, bad.index + 3))}`);
  if (query && s.includes('+')) s = s.replaceAll('+', ' ');
  if (!s.includes('%')) return s;
  const bytes = Buffer.concat(s.split(ESCAPE).map((part, i) => (i % 2 === 1 ? Buffer.of(parseInt(part.slice(1), 16)) : Buffer.from(part, 'utf8'))));
  if (!isUtf8(bytes)) throw new Error(`invalid UTF-8 after percent-decoding ${JSON.stringify(s)}`);
  return bytes.toString('utf8');
}

/** url.PathUnescape */
export function pathUnescape(s: string): string {
  return unescape(s, false);
}

/** url.QueryUnescape */
export function queryUnescape(s: string): string {
  return unescape(s, true);
}

/**
 * url.ParseQuery: every valid pair is kept, and the first error is reported
 * after the whole query is read (OPA-Envoy then fails the request).
 */
export function parseQuery(query: string): { values: Record<string, string[]>; error?: Error } {
  const values: Record<string, string[]> = Object.create(null);
  if (query.split('&').length > MAX_QUERY_PARAMS) return { values, error: new Error('number of URL query parameters exceeded limit') };
  let error: Error | undefined;
  for (const piece of query.split('&')) {
    if (piece.includes(';')) {
      error = new Error('invalid semicolon separator in query'); // Go lets this one replace an earlier error
      continue;
    }
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawKey = eq < 0 ? piece : piece.slice(0, eq);
    const rawValue = eq < 0 ? '' : piece.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = queryUnescape(rawKey);
      value = queryUnescape(rawValue);
    } catch (err) {
      error ??= err as Error;
      continue;
    }
    (values[key] ??= []).push(value);
  }
  return error ? { values, error } : { values };
}

/** OPA-Envoy's parsed_path and parsed_query for a request path. */
export function parsePathAndQuery(path: string): { parsedPath: string[]; parsedQuery: Record<string, string[]> } {
  const q = path.indexOf('?');
  const rawPath = q < 0 ? path : path.slice(0, q);
  const rawQuery = q < 0 ? '' : path.slice(q + 1);
  const parsedPath = pathUnescape(rawPath).replace(/^\/+/, '').split('/');
  const { values, error } = parseQuery(rawQuery);
  if (error) throw error;
  return { parsedPath, parsedQuery: values };
}
