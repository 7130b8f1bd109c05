/**
 * Hash and HMAC host builtins (OPA topdown/crypto.go): hex digests of the
 * string's UTF-8 bytes.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { stringArg } from './args.js';
import { parseCertificates } from './x509.js';

type Builtin = (...args: unknown[]) => unknown;

function hash(name: string, algorithm: string): Builtin {
  return (s) => createHash(algorithm).update(stringArg(name, 1, s), 'utf8').digest('hex');
}

function hmac(name: string, algorithm: string): Builtin {
  return (message, key) => {
    const m = stringArg(name, 1, message);
    return createHmac(algorithm, stringArg(name, 2, key)).update(m, 'utf8').digest('hex');
  };
}

function hmacEqual(a: unknown, b: unknown): boolean {
  const x = Buffer.from(stringArg('crypto.hmac.equal', 1, a));
  const y = Buffer.from(stringArg('crypto.hmac.equal', 2, b));
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The `crypto.*` host builtins. */
export function cryptoBuiltins(): Record<string, Builtin> {
  return {
    'crypto.md5': hash('crypto.md5', 'md5'),
    'crypto.sha1': hash('crypto.sha1', 'sha1'),
    'crypto.sha256': hash('crypto.sha256', 'sha256'),
    'crypto.hmac.md5': hmac('crypto.hmac.md5', 'md5'),
    'crypto.hmac.sha1': hmac('crypto.hmac.sha1', 'sha1'),
    'crypto.hmac.sha256': hmac('crypto.hmac.sha256', 'sha256'),
    'crypto.hmac.sha512': hmac('crypto.hmac.sha512', 'sha512'),
    'crypto.hmac.equal': hmacEqual,
    'crypto.x509.parse_certificates': parseCertificates,
  };
}
