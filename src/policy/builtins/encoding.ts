/**
 * Decoders with Go's strictness: Node's `Buffer.from(s, 'base64')` skips bad
 * characters silently, where Go (and so OPA) fails.
 */

const STD = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL = /^[A-Za-z0-9_-]*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

// Go's padded decoders ignore CR and LF anywhere, and need whole 4-char quanta.
function goDecode(s: string, alphabet: RegExp, encoding: 'base64' | 'base64url'): Buffer {
  const clean = s.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !alphabet.test(clean)) throw new Error(`illegal base64 data in ${JSON.stringify(s)}`);
  return Buffer.from(clean, encoding);
}

/** Go's `base64.StdEncoding.DecodeString`. */
export function decodeStdBase64(s: string): Buffer {
  return goDecode(s, STD, 'base64');
}

/** OPA's `base64url.decode`: adds missing padding (RFC 7515 appendix C), then decodes strictly. */
export function decodeBase64Url(s: string): Buffer {
  let padded = s;
  if (!s.endsWith('=')) {
    const rem = s.length % 4;
    if (rem === 1) throw new Error(`illegal base64url string: ${s}`);
    if (rem === 2) padded += '==';
    if (rem === 3) padded += '=';
  }
  return goDecode(padded, URL, 'base64url');
}

/** One decoded PEM block. */
export interface PemBlock {
  readonly type: string;
  readonly bytes: Buffer;
  /** Text after the block's END line. */
  readonly rest: string;
}

const BEGIN = /(?:^|\n)-----BEGIN ([^\n]*?)-----[ \t]*\r?\n/g;

/**
 * The first PEM block in `text`, like Go's `pem.Decode` (text before the
 * block is skipped; RFC 1421 headers are skipped, not returned). Null when
 * there is none.
 */
export function decodePem(text: string): PemBlock | null {
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m !== null; m = BEGIN.exec(text)) {
    const type = m[1] ?? '';
    const bodyStart = m.index + m[0].length;
    const endMarker = `-----END ${type}-----`;
    const end = text.indexOf(endMarker, bodyStart);
    if (end < 0) continue;
    const afterEnd = end + endMarker.length;
    const nl = text.indexOf('\n', afterEnd);
    const restOfLine = text.slice(afterEnd, nl < 0 ? text.length : nl);
    if (restOfLine.trim() !== '') continue;
    let body = text.slice(bodyStart, end);
    // Skip "Key: value" header lines.
    while (/^[^\n:]*:[^\n]*\n/.test(body)) body = body.slice(body.indexOf('\n') + 1);
    let bytes: Buffer;
    try {
      bytes = decodeStdBase64(body.replace(/[ \t]/g, ''));
    } catch {
      continue;
    }
    return { type, bytes, rest: nl < 0 ? '' : text.slice(nl + 1) };
  }
  return null;
}
