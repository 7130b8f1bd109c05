/**
 * The JSON shape of Go's `url.URL` for a URI SAN, parsed as Go's
 * `url.Parse` does for absolute URIs (scheme, authority, path, query,
 * fragment). Userinfo shows as `{}` (Go's Userinfo has no exported fields).
 */

const utf8 = new TextDecoder();

function unescape(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(s[i]!));
    }
  }
  return utf8.decode(Buffer.from(bytes));
}

// Go's shouldEscape for paths and fragments.
function escape(s: string, keep: RegExp): string {
  let out = '';
  for (const byte of Buffer.from(s)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) || keep.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
const PATH_KEEP = /[$&+,/:;=@]/;
const FRAGMENT_KEEP = /[$&+,/:;=?@!()*]/;

/** Go's `url.URL` fields as `encoding/json` writes them. */
export function goUrlJson(raw: string): Record<string, unknown> {
  const u = {
    Scheme: '', Opaque: '', User: null as object | null, Host: '', Path: '', RawPath: '',
    OmitHost: false, ForceQuery: false, RawQuery: '', Fragment: '', RawFragment: '',
  };
  let rest = raw;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    const frag = rest.slice(hash + 1);
    u.Fragment = unescape(frag);
    if (escape(u.Fragment, FRAGMENT_KEEP) !== frag) u.RawFragment = frag;
    rest = rest.slice(0, hash);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (scheme) {
    u.Scheme = scheme[1]!.toLowerCase();
    rest = rest.slice(scheme[0].length);
  } else if (rest.startsWith(':')) {
    throw new Error('missing protocol scheme');
  } else if (/^[^/?]*:/.test(rest)) {
    throw new Error('first path segment in URL cannot contain colon');
  }
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    u.ForceQuery = true;
    rest = rest.slice(0, -1);
  } else if (rest.includes('?')) {
    u.RawQuery = rest.slice(rest.indexOf('?') + 1);
    rest = rest.slice(0, rest.indexOf('?'));
  }
  if (!rest.startsWith('/') && u.Scheme !== '') {
    u.Opaque = rest;
    return u;
  }
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
    const at = authority.lastIndexOf('@');
    if (at >= 0) u.User = {};
    u.Host = unescape(authority.slice(at + 1));
  } else if (u.Scheme !== '' && rest.startsWith('/')) {
    u.OmitHost = true;
  }
  u.Path = unescape(rest);
  if (escape(u.Path, PATH_KEEP) !== rest) u.RawPath = rest;
  return u;
}
