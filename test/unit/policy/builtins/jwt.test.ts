/**
 * io.jwt.* host builtins against real OPA. Tokens are signed with jose (an
 * implementation independent of ours) or, for crafted headers, by hand.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CompactSign } from 'jose';
import t from 'tap';
import { createHostBuiltins } from '../../../../src/policy/builtins/index.js';
import { assertAgree, evaluateBoth, opaValue } from './oracle.js';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const nowSec = Math.floor(Date.now() / 1000);
const CLAIMS = { iss: 'https://issuer.example', sub: 'alice', aud: ['api', 'web'], exp: nowSec + 3600, nbf: nowSec - 60, scope: 'read' };

interface Pair { readonly priv: KeyObject; readonly pub: KeyObject; readonly pem: string }
function pair(type: 'rsa' | 'ec' | 'ed25519', curve?: string): Pair {
  const { privateKey, publicKey } = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : type === 'ec' ? generateKeyPairSync('ec', { namedCurve: curve! }) : generateKeyPairSync('ed25519');
  return { priv: privateKey, pub: publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}
const jwk = (p: Pair, extra: Record<string, string> = {}): Record<string, unknown> => ({ ...p.pub.export({ format: 'jwk' }), ...extra });

async function sign(alg: string, key: KeyObject | string, payload: unknown, header: Record<string, unknown> = {}): Promise<string> {
  const body = new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return new CompactSign(body).setProtectedHeader({ alg, ...header }).sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

/** HS256 over arbitrary header and payload text (jose refuses some of the headers we need). */
function hs256(header: unknown, payload: string, secret: string): string {
  const input = `${b64(typeof header === 'string' ? header : JSON.stringify(header))}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const rsa = pair('rsa');
const rsa2 = pair('rsa');
const keys: Record<string, Pair> = { RS: rsa, PS: rsa, ES256: pair('ec', 'P-256'), ES384: pair('ec', 'P-384'), ES512: pair('ec', 'P-521') };
const keyFor = (alg: string): Pair => keys[alg.slice(0, 2)] ?? keys[alg]!;
const SECRET = 'a shared secret of decent length!';

t.test('verify_* for every algorithm: good, wrong key, tampered, JWK and JWKS forms', async (t) => {
  const input: Record<string, unknown> = { rsa2: rsa2.pem, secret: SECRET };
  const cases: Record<string, string> = {};
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512']) {
    const fn = `io.jwt.verify_${alg.toLowerCase()}`;
    const hs = alg.startsWith('HS');
    const good = await sign(alg, hs ? SECRET : keyFor(alg).priv, CLAIMS);
    const [h, , s] = good.split('.');
    input[alg] = { good, tampered: `${h}.${b64(JSON.stringify({ ...CLAIMS, sub: 'mallory' }))}.${s}` };
    cases[`${alg} good`] = `${fn}(input.${alg}.good, ${hs ? 'input.secret' : `input.${alg}.pem`})`;
    cases[`${alg} tampered`] = `${fn}(input.${alg}.tampered, ${hs ? 'input.secret' : `input.${alg}.pem`})`;
    if (hs) {
      cases[`${alg} wrong secret`] = `${fn}(input.${alg}.good, "not the secret")`;
      continue;
    }
    const p = keyFor(alg);
    Object.assign(input[alg] as object, {
      pem: p.pem,
      jwk: JSON.stringify(jwk(p)),
      jwks: JSON.stringify({ keys: [jwk(rsa2, { kid: 'other' }), jwk(keys['ES256']!), jwk(p, { kid: 'right', alg })] }),
      jwksWrongAlg: JSON.stringify({ keys: [jwk(p, { alg: alg === 'RS256' ? 'RS384' : 'RS256' })] }),
      jwkPrivate: JSON.stringify(p.priv.export({ format: 'jwk' })),
    });
    cases[`${alg} wrong key`] = `${fn}(input.${alg}.good, input.rsa2)`;
    cases[`${alg} jwk`] = `${fn}(input.${alg}.good, input.${alg}.jwk)`;
    cases[`${alg} jwks`] = `${fn}(input.${alg}.good, input.${alg}.jwks)`;
    cases[`${alg} jwks alg filter`] = `${fn}(input.${alg}.good, input.${alg}.jwksWrongAlg)`;
    cases[`${alg} private jwk`] = `${fn}(input.${alg}.good, input.${alg}.jwkPrivate)`;
  }
  // kid in the token picks one key of a set, even a wrong one.
  input['kidWrong'] = await sign('RS256', rsa.priv, CLAIMS, { kid: 'other' });
  cases['kid names the wrong key'] = 'io.jwt.verify_rs256(input.kidWrong, input.RS256.jwks)';
  cases['kid not in set'] = 'io.jwt.verify_rs256(input.RS256.good, input.RS256.jwks)';
  // Algorithm confusion.
  cases['RS384 token, verify_rs256'] = 'io.jwt.verify_rs256(input.RS384.good, input.RS384.pem)';
  cases['ES256 token, RSA key'] = 'io.jwt.verify_es256(input.ES256.good, input.RS256.pem)';
  cases['RS256 token as HS256 with PEM secret'] = 'io.jwt.verify_hs256(input.RS256.good, input.RS256.pem)';
  input['hsWithPem'] = hs256({ alg: 'HS256' }, JSON.stringify(CLAIMS), rsa.pem);
  cases['HS256 signed with PEM, verify_rs256'] = 'io.jwt.verify_rs256(input.hsWithPem, input.RS256.pem)';
  cases['header alg ignored by verify_*'] = 'io.jwt.verify_rs256(input.PS256.good, input.RS256.pem)';
  const r = assertAgree(t, await evaluateBoth(cases, { input }));
  for (const alg of ['RS256', 'PS384', 'ES512', 'HS512']) t.equal(opaValue(r, `${alg} good`), true, `${alg}: OPA accepts our token`);
  t.equal(opaValue(r, 'ES256 jwks'), true);
  t.equal(opaValue(r, 'RS256 private jwk'), false, 'OPA refuses a private JWK in verify_*');
});

t.test('keys in certificates', async (t) => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    t.comment('openssl is not on PATH: the certificate-key input is not generated');
    t.pass('nothing to compare without openssl');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'iacdash-jwt-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'key.pem'), rsa.priv.export({ type: 'pkcs8', format: 'pem' }));
  await promisify(execFile)('openssl', ['req', '-x509', '-key', join(dir, 'key.pem'), '-subj', '/CN=jwt', '-days', '1', '-out', join(dir, 'cert.pem')]);
  const cert = await readFile(join(dir, 'cert.pem'), 'utf8');
  const token = await sign('RS256', rsa.priv, CLAIMS);
  const r = assertAgree(t, await evaluateBoth({
    verify: 'io.jwt.verify_rs256(input.token, input.cert)',
    decodeVerify: 'io.jwt.decode_verify(input.token, {"cert": input.cert, "aud": "api"})',
    trailingData: 'io.jwt.verify_rs256(input.token, concat("", [input.cert, "\\nextra"]))',
  }, { input: { token, cert } }));
  t.equal(opaValue(r, 'verify'), true);
});

t.test('decode_verify: constraints, claims and headers', async (t) => {
  const exp = 2_000_000_000;
  const at = (s: number): string => `${BigInt(s) * 1_000_000_000n}`;
  const tok = (claims: Record<string, unknown> | string, header: Record<string, unknown> = {}): Promise<string> => sign('HS256', SECRET, claims, header);
  const input: Record<string, unknown> = {
    secret: SECRET,
    rs: await sign('RS256', rsa.priv, CLAIMS),
    ps: await sign('PS256', rsa.priv, CLAIMS),
    es: await sign('ES384', keys['ES384']!.priv, CLAIMS, { kid: 'k384' }),
    ed: await sign('EdDSA', pair('ed25519').priv, CLAIMS),
    timed: await tok({ exp, nbf: exp - 100 }),
    iss: await tok({ iss: 'me' }),
    audStr: await tok({ aud: 'api' }),
    audList: await tok({ aud: ['x', 3, 'api'] }),
    audNone: await tok({ sub: 'x' }),
    expString: await tok({ exp: 'soon' }),
    big: await tok('{"n": 123456789012345678901234567890, "f": 1.50, "dup": 1, "dup": 2, "s": "é😀"}'),
    rsaPem: rsa.pem,
    jwks: JSON.stringify({ keys: [jwk(rsa2), jwk(keys['ES384']!, { kid: 'k384' }), jwk(rsa, { alg: 'RS256' }), { kty: 'oct', k: b64(SECRET) }] }),
    jwksEmpty: '{"keys": []}',
    jwksBad: '{"keys": [{"kty": "bogus"}]}',
    jwkPrivate: JSON.stringify(rsa.priv.export({ format: 'jwk' })),
    crit: hs256({ alg: 'HS256', crit: ['exp2'], exp2: 1 }, '{}', SECRET),
    critKnown: hs256({ alg: 'HS256', crit: ['alg'] }, '{}', SECRET),
    critEmpty: hs256({ alg: 'HS256', crit: [] }, '{}', SECRET),
    none: `${b64('{"alg":"none"}')}.${b64('{}')}.`,
    noAlg: hs256({ typ: 'JWT' }, '{}', SECRET),
    kidNumber: hs256({ alg: 'HS256', kid: 7 }, '{}', SECRET),
    nested: hs256({ alg: 'HS256', cty: 'jwt' }, hs256({ alg: 'HS256', kid: 'inner' }, '{"inner":true}', SECRET), SECRET),
    nestedBadInner: hs256({ alg: 'HS256', cty: 'JWT' }, hs256({ alg: 'HS256' }, '{"inner":true}', 'other secret'), SECRET),
    n: 5,
  };
  const DV = 'io.jwt.decode_verify';
  const cases: Record<string, string> = {
    rs: `${DV}(input.rs, {"cert": input.rsaPem, "aud": "web"})`,
    ps: `${DV}(input.ps, {"cert": input.rsaPem, "aud": "web"})`,
    'es via jwks kid': `${DV}(input.es, {"cert": input.jwks, "aud": "api"})`,
    'rs via jwks alg': `${DV}(input.rs, {"cert": input.jwks, "aud": "api"})`,
    'hs via jwks oct key': `${DV}(input.timed, {"cert": input.jwks, "time": ${at(exp - 50)}})`,
    'rs, private jwk': `${DV}(input.rs, {"cert": input.jwkPrivate, "aud": "api"})`,
    'alg constraint matches': `${DV}(input.rs, {"cert": input.rsaPem, "aud": "api", "alg": "RS256"})`,
    'alg constraint differs': `${DV}(input.rs, {"cert": input.rsaPem, "aud": "api", "alg": "RS384"})`,
    'rs with a secret': `${DV}(input.rs, {"secret": input.rsaPem, "aud": "api"})`,
    'hs with a PEM cert': `${DV}(input.timed, {"cert": input.rsaPem, "time": ${at(exp - 50)}})`,
    'empty jwks': `${DV}(input.rs, {"cert": input.jwksEmpty})`,
    'bad jwks': `${DV}(input.rs, {"cert": input.jwksBad})`,
    'wrong secret': `${DV}(input.timed, {"secret": "nope", "time": ${at(exp - 50)}})`,
    'in time': `${DV}(input.timed, {"secret": input.secret, "time": ${at(exp - 1)}})`,
    'at exp': `${DV}(input.timed, {"secret": input.secret, "time": ${at(exp)}})`,
    'expired': `${DV}(input.timed, {"secret": input.secret, "time": ${at(exp + 1)}})`,
    'at nbf': `${DV}(input.timed, {"secret": input.secret, "time": ${at(exp - 100)}})`,
    'not yet valid': `${DV}(input.timed, {"secret": input.secret, "time": ${at(exp - 101)}})`,
    'time as float': `${DV}(input.timed, {"secret": input.secret, "time": ${exp - 0.5}e9})`,
    'negative time': `${DV}(input.timed, {"secret": input.secret, "time": -1})`,
    'string time': `${DV}(input.timed, {"secret": input.secret, "time": "now"})`,
    'iss matches': `${DV}(input.iss, {"secret": input.secret, "iss": "me"})`,
    'iss differs': `${DV}(input.iss, {"secret": input.secret, "iss": "you"})`,
    'iss missing': `${DV}(input.audNone, {"secret": input.secret, "iss": "me"})`,
    'aud string': `${DV}(input.audStr, {"secret": input.secret, "aud": "api"})`,
    'aud list with non-strings': `${DV}(input.audList, {"secret": input.secret, "aud": "api"})`,
    'aud in token, none required': `${DV}(input.audStr, {"secret": input.secret})`,
    'aud required, none in token': `${DV}(input.audNone, {"secret": input.secret, "aud": "api"})`,
    'exp not a number': `${DV}(input.expString, {"secret": input.secret})`,
    'exact claims': `${DV}(input.big, {"secret": input.secret})`,
    'big claim stays exact': `${DV}(input.big, {"secret": input.secret})[2].n == 123456789012345678901234567890`,
    'unknown crit': `${DV}(input.crit, {"secret": input.secret})`,
    'known crit': `${DV}(input.critKnown, {"secret": input.secret})`,
    'empty crit': `${DV}(input.critEmpty, {"secret": input.secret})`,
    'alg none': `${DV}(input.none, {"secret": input.secret})`,
    'no alg': `${DV}(input.noAlg, {"secret": input.secret})`,
    'kid not a string': `${DV}(input.kidNumber, {"secret": input.secret})`,
    'nested': `${DV}(input.nested, {"secret": input.secret})`,
    'nested, inner signed elsewhere': `${DV}(input.nestedBadInner, {"secret": input.secret})`,
    'no key constraint': `${DV}(input.timed, {"iss": "me"})`,
    'empty secret': `${DV}(input.timed, {"secret": ""})`,
    'two key constraints': `${DV}(input.timed, {"secret": input.secret, "cert": input.rsaPem})`,
    'unknown constraint': `${DV}(input.timed, {"secret": input.secret, "color": "red"})`,
    'constraints not an object': `${DV}(input.timed, input.n)`,
    'cert not a string': `${DV}(input.timed, {"cert": input.n})`,
  };
  const r = assertAgree(t, await evaluateBoth(cases, { input }));
  t.equal((opaValue(r, 'rs') as unknown[])[0], true);
  t.equal((opaValue(r, 'es via jwks kid') as unknown[])[0], true);
  t.strictSame(opaValue(r, 'expired'), [false, {}, {}]);
  t.strictSame(opaValue(r, 'nested'), [true, { alg: 'HS256', kid: 'inner' }, { inner: true }]);
  t.equal(opaValue(r, 'big claim stays exact'), true);
  t.equal(r['no key constraint']!.opa.kind, 'error');

  // The wasm reads time from our clock: before exp it verifies, after it does not.
  const at2 = (sec: number): bigint => BigInt(sec) * 1_000_000_000n;
  const decode = (now: bigint): unknown => JSON.parse(Buffer.from(
    createHostBuiltins({ now: () => now })[DV]!(input['timed'], { secret: SECRET }) as ArrayBuffer,
  ).toString());
  t.equal((decode(at2(exp - 1)) as unknown[])[0], true, 'injected clock before exp');
  t.strictSame(decode(at2(exp)), [false, {}, {}], 'injected clock at exp');
});

t.test('decode and malformed tokens', async (t) => {
  const good = await sign('RS256', rsa.priv, CLAIMS, { kid: 'k1', typ: 'JWT' });
  const [h, p, s] = good.split('.') as [string, string, string];
  const padded = `${h}.${Buffer.from(JSON.stringify({ a: 'bc' })).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}.${s}`;
  const input = {
    good, padded,
    bigClaims: hs256({ alg: 'HS256' }, '{"n": 123456789012345678901234567890, "f": 1.50, "dup": 1, "dup": 2, "e": "\\ud800"}', SECRET),
    nested: hs256({ alg: 'HS256', cty: 'JWT' }, `"${hs256({ alg: 'HS256' }, '{"inner":1}', SECRET)}"`, SECRET),
    noDots: 'abc', twoParts: `${h}.${p}`, fourParts: `${good}.x`,
    headerNotBase64: `!!!.${p}.${s}`, headerNotJson: `${b64('nope')}.${p}.${s}`, headerArray: `${b64('[1]')}.${p}.${s}`,
    payloadNotJson: `${h}.${b64('{')}.${s}`, payloadString: `${h}.${b64('"x"')}.${s}`, badSignature: `${h}.${p}.a$b`,
    lengthMod4Is1: `${h}.${p}.${s}A`, jwe: `${b64('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.${p}.${s}`,
    n: 5, pem: rsa.pem,
  };
  const cases: Record<string, string> = {};
  for (const name of Object.keys(input).filter((k) => k !== 'pem')) {
    cases[`decode ${name}`] = `io.jwt.decode(input.${name})`;
    cases[`verify_rs256 ${name}`] = `io.jwt.verify_rs256(input.${name}, input.pem)`;
    cases[`verify_hs256 ${name}`] = `io.jwt.verify_hs256(input.${name}, "${SECRET}")`;
    cases[`decode_verify ${name}`] = `io.jwt.decode_verify(input.${name}, {"cert": input.pem})`;
  }
  cases['big claim stays exact'] = 'io.jwt.decode(input.bigClaims)[1].n == 123456789012345678901234567890';
  cases['verify key not a string'] = 'io.jwt.verify_rs256(input.good, input.n)';
  cases['verify key not a key'] = 'io.jwt.verify_rs256(input.good, "neither PEM nor JSON")';
  cases['verify key is a private PEM'] = `io.jwt.verify_rs256(input.good, ${JSON.stringify(rsa.priv.export({ type: 'pkcs8', format: 'pem' }))})`;
  const r = assertAgree(t, await evaluateBoth(cases, { input }));
  const [header, payload, sig] = opaValue(r, 'decode good') as [unknown, unknown, string];
  t.strictSame(header, { alg: 'RS256', kid: 'k1', typ: 'JWT' });
  t.strictSame(payload, CLAIMS);
  t.equal(sig, Buffer.from(s, 'base64url').toString('hex'));
  t.equal(opaValue(r, 'big claim stays exact'), true);
  t.equal(r['decode noDots']!.opa.kind, 'error');

  const strict = createHostBuiltins({ strictBuiltinErrors: true });
  t.throws(() => strict['io.jwt.decode']!(5), /^io\.jwt\.decode: operand 1: expected string, got number$/);
  t.throws(() => strict['io.jwt.decode']!('abc'), /^io\.jwt\.decode: encoded JWT had no period separators$/);
  t.throws(() => strict['io.jwt.verify_rs256']!(good, {}), /^io\.jwt\.verify_rs256: operand 2: expected string, got object$/);
  t.throws(() => strict['io.jwt.decode_verify']!(good, []), /^io\.jwt\.decode_verify: operand 2: expected object, got array$/);
  // OPA 1.22 panics (crashes opa eval) on a non-string cty; we report an error instead.
  t.throws(() => strict['io.jwt.decode']!(`${b64('{"alg":"HS256","cty":5}')}.${p}.${s}`), /^io\.jwt\.decode: cty: must be a string$/);
});
