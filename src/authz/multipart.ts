/**
 * multipart/form-data into OPA-Envoy's shape: form name → list of values,
 * JSON parts parsed. Follows Go's mime.ParseMediaType and mime/multipart
 * (CRLF or bare-LF delimiters, quoted-printable parts). Written here
 * because the maintained parsers (busboy) are stream-based and the input
 * builder is a synchronous function over a body already in memory.
 */
import { parseJsonLimited } from './json-limit.js';

/** mime.ParseMediaType: the lowercased type and its parameters; throws like Go on bad syntax. */
export function parseMediaType(value: string): { type: string; params: Map<string, string> } {
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (type === '') throw new Error('mime: no media type');
  const params = new Map<string, string>();
  let rest = semi < 0 ? '' : value.slice(semi);
  const PARAM = /^\s*;\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+\-.^_`|~0-9A-Za-z]+))/;
  while (rest.trim() !== '' && rest.trim() !== ';') {
    const m = PARAM.exec(rest);
    if (!m) throw new Error('mime: invalid media parameter');
    const name = m[1]!.toLowerCase();
    if (params.has(name)) throw new Error('mime: duplicate parameter name');
    params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    rest = rest.slice(m[0].length);
  }
  return { type, params };
}

/** Quoted-printable (RFC 2045) as Go's mime/quotedprintable reader decodes it. */
function decodeQuotedPrintable(text: string): string {
  const soft = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft.charCodeAt(i);
    if (c === 0x3d /* = */ && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 0x3d) {
      throw new Error('multipart: quotedprintable: invalid hex byte');
    } else {
      bytes.push(...Buffer.from(soft[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function partHeaders(block: string, nl: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split(nl)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

const EOF_ERROR = 'unexpected EOF';

/** Parses a complete multipart body; null when the type has no boundary (as OPA-Envoy). */
export function parseMultipart(contentType: string, payload: string, maxDepth: number): Record<string, unknown[]> | null {
  const boundary = parseMediaType(contentType).params.get('boundary');
  if (boundary === undefined) return null;
  const dash = `--${boundary}`;
  const first = payload.startsWith(dash) ? 0 : payload.search(new RegExp(`\\r?\\n${dash.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  if (first < 0) throw new Error(EOF_ERROR);
  let pos = payload.indexOf(dash, first) + dash.length;
  // The first delimiter line's ending decides CRLF or bare-LF mode, as in Go.
  const nl = payload.startsWith('\r\n', pos) ? '\r\n' : '\n';
  const values: Record<string, unknown[]> = Object.create(null);
  for (;;) {
    if (payload.startsWith('--', pos)) return values;
    if (!payload.startsWith(nl, pos)) throw new Error(EOF_ERROR);
    const headerEnd = payload.indexOf(nl + nl, pos);
    if (headerEnd < 0) throw new Error(EOF_ERROR);
    const next = payload.indexOf(nl + dash, headerEnd + nl.length);
    if (next < 0) throw new Error(EOF_ERROR);
    const headers = partHeaders(payload.slice(pos + nl.length, headerEnd), nl);
    let content = payload.slice(headerEnd + 2 * nl.length, next);
    if (headers.get('content-transfer-encoding')?.toLowerCase() === 'quoted-printable') content = decodeQuotedPrintable(content);
    const disposition = headers.get('content-disposition');
    let name = '';
    if (disposition) {
      const parsed = parseMediaType(disposition);
      if (parsed.type === 'form-data') name = parsed.params.get('name') ?? '';
    }
    if (name) {
      const isJson = (headers.get('content-type') ?? '').includes('application/json');
      (values[name] ??= []).push(isJson ? parseJsonLimited(content, maxDepth) : content);
    }
    pos = next + nl.length + dash.length;
  }
}
