// Base64 (RFC 4648) with the standard and URL-safe alphabets, for JWTs and
// Basic credentials. Decoding returns null on bad input instead of trapping.

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function sextet(c: i32, url: bool): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (url) {
    if (c == 0x2d) return 62;
    if (c == 0x5f) return 63;
  } else {
    if (c == 0x2b) return 62;
    if (c == 0x2f) return 63;
  }
  return -1;
}

function decode(text: string, url: bool): Uint8Array | null {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) == 0x3d) end--; // '=' padding is optional
  if (text.length - end > 2 || end % 4 == 1) return null;
  const out = new Uint8Array((end * 3) >> 2);
  let acc: u32 = 0;
  let bits: u32 = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const v = sextet(text.charCodeAt(i), url);
    if (v < 0) return null;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < out.length) unchecked((out[o] = <u8>(acc >> bits)));
      o++;
    }
  }
  return out;
}

function encode(bytes: Uint8Array, alphabet: string, pad: bool): string {
  const parts = new Array<string>();
  let i = 0;
  const n = bytes.length;
  while (i + 2 < n) {
    const v = (<u32>unchecked(bytes[i]) << 16) | (<u32>unchecked(bytes[i + 1]) << 8) | <u32>unchecked(bytes[i + 2]);
    parts.push(alphabet.charAt(v >> 18) + alphabet.charAt((v >> 12) & 63) + alphabet.charAt((v >> 6) & 63) + alphabet.charAt(v & 63));
    i += 3;
  }
  if (n - i == 1) {
    const v = <u32>unchecked(bytes[i]) << 16;
    parts.push(alphabet.charAt(v >> 18) + alphabet.charAt((v >> 12) & 63) + (pad ? "==" : ""));
  } else if (n - i == 2) {
    const v = (<u32>unchecked(bytes[i]) << 16) | (<u32>unchecked(bytes[i + 1]) << 8);
    parts.push(alphabet.charAt(v >> 18) + alphabet.charAt((v >> 12) & 63) + alphabet.charAt((v >> 6) & 63) + (pad ? "=" : ""));
  }
  return parts.join("");
}

/** Decodes base64url (padding optional); null on characters outside the alphabet. */
export function base64UrlDecode(text: string): Uint8Array | null {
  return decode(text, true);
}

/** Encodes base64url without padding, as JWTs use it. */
export function base64UrlEncode(bytes: Uint8Array): string {
  return encode(bytes, URL, false);
}

/** Decodes standard base64 (padding optional); null on bad input. */
export function base64Decode(text: string): Uint8Array | null {
  return decode(text, false);
}

/** Encodes standard base64 with padding. */
export function base64Encode(bytes: Uint8Array): string {
  return encode(bytes, STD, true);
}
