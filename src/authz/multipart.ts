/**
 * multipart/form-data (RFC 7578) into OPA-Envoy's shape: a map from form
 * name to a list of values, JSON parts parsed. Written here because the
 * maintained parsers (busboy) are stream-based and the input builder is a
 * synchronous pure function over a body that is already in memory.
 */
import { parseJsonLimited } from './json-limit.js';

/** The `boundary` parameter of a media type, or undefined; throws on a malformed type like Go's mime.ParseMediaType. */
export function boundaryOf(contentType: string): string | undefined {
  const parts = contentType.split(';');
  if (parts[0]!.trim() === '') throw new Error('mime: no media type');
  for (const param of parts.slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0) {
      if (param.trim() === '') continue;
      throw new Error('mime: invalid media parameter');
    }
    const name = param.slice(0, eq).trim().toLowerCase();
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name === 'boundary') return value;
  }
  return undefined;
}

function headerParam(header: string, param: string): string | undefined {
  const re = new RegExp(`;\\s*${param}="([^"]*)"|;\\s*${param}=([^;\\s]*)`, 'i');
  const m = re.exec(header);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Parses a complete multipart body; throws on a body without its closing delimiter. */
export function parseMultipart(contentType: string, payload: string, maxDepth: number): Record<string, unknown[]> | null {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) return null;
  const delimiter = `--${boundary}`;
  const values: Record<string, unknown[]> = Object.create(null);
  const first = payload.indexOf(delimiter);
  if (first < 0) throw new Error('multipart: NextPart: EOF');
  let pos = first + delimiter.length;
  for (;;) {
    if (payload.startsWith('--', pos)) return values; // closing delimiter
    const headerStart = payload.indexOf('\r\n', pos);
    if (headerStart < 0) throw new Error('multipart: NextPart: EOF');
    const headerEnd = payload.indexOf('\r\n\r\n', headerStart);
    if (headerEnd < 0) throw new Error('multipart: NextPart: EOF');
    const next = payload.indexOf(`\r\n${delimiter}`, headerEnd + 4);
    if (next < 0) throw new Error('multipart: NextPart: EOF');
    const headers = new Map<string, string>();
    for (const line of payload.slice(headerStart + 2, headerEnd).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const content = payload.slice(headerEnd + 4, next);
    const disposition = headers.get('content-disposition') ?? '';
    const name = disposition.toLowerCase().startsWith('form-data') ? headerParam(disposition, 'name') : undefined;
    if (name) {
      const isJson = (headers.get('content-type') ?? '').includes('application/json');
      (values[name] ??= []).push(isJson ? parseJsonLimited(content, maxDepth) : content);
    }
    pos = next + 2 + delimiter.length;
  }
}
