// io.jwt.decode_verify remembers signature outcomes per (key, alg, token); everything that depends on the
// clock or the other constraints must still be decided on each call.
import { createHmac } from 'node:crypto';
import t from 'tap';
import { createHostBuiltins } from '../../../../src/policy/builtins/index.js';
import { VerifiedTokens } from '../../../../src/policy/builtins/verified-tokens.js';

const SECRET = 'cache-test-secret-0123456789abcdef';
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
function hs256(claims: Record<string, unknown>, secret = SECRET): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const EXP = 2_000_000_000; // seconds
const token = hs256({ sub: 'alice', iss: 'iss', exp: EXP });

/** decode_verify through a fresh builtin set (one engine's worth of cache). */
function verifier(): (constraints: Record<string, unknown>, tok?: string) => [boolean, unknown, unknown] {
  const dv = createHostBuiltins({ strictBuiltinErrors: true })['io.jwt.decode_verify']!;
  return (constraints, tok = token) => JSON.parse(new TextDecoder().decode(dv(tok, constraints) as ArrayBuffer)) as [boolean, unknown, unknown];
}
const at = (seconds: number): number => seconds * 1e9;

t.test('a remembered token is still checked against the clock, iss and aud on every call', async (t) => {
  const verify = verifier();
  t.equal(verify({ secret: SECRET, time: at(EXP - 10) })[0], true, 'before exp');
  t.equal(verify({ secret: SECRET, time: at(EXP + 10) })[0], false, 'after exp: the cached signature does not keep it valid');
  t.equal(verify({ secret: SECRET, time: at(EXP - 10), iss: 'other' })[0], false, 'iss checked per call');
  t.equal(verify({ secret: SECRET, time: at(EXP - 10) })[0], true, 'and valid again before exp');
  t.same(verify({ secret: SECRET, time: at(EXP - 10) })[2], { sub: 'alice', iss: 'iss', exp: EXP }, 'the payload comes back whole');
});

t.test('the outcome belongs to the key and alg it was verified with', async (t) => {
  const verify = verifier();
  t.equal(verify({ secret: 'wrong-secret', time: at(1) })[0], false, 'wrong secret');
  t.equal(verify({ secret: SECRET, time: at(1) })[0], true, 'right secret, same token');
  t.equal(verify({ secret: SECRET, alg: 'HS512', time: at(1) })[0], false, 'alg constraint differs');
  t.equal(verify({ secret: SECRET, alg: 'HS256', time: at(1) })[0], true);
  const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
  t.equal(verify({ secret: SECRET, time: at(1) }, tampered)[0], false, 'a tampered token is its own entry');
  t.equal(verify({ secret: SECRET, time: at(1) }, tampered)[0], false, 'and stays refused');
});

t.test('constraints that spell the same text differently are different keys (regression: a NUL-joined key collided)', async (t) => {
  const secret = 'A\0secret\0B';
  const tok = hs256({ sub: 'alice', exp: EXP }, secret);
  const verify = verifier();
  t.equal(verify({ secret, time: at(1) }, tok)[0], true);
  const forged = { secret: 'B', alg: '\0secret\0A', time: at(1) };
  t.equal(verify(forged, tok)[0], false, 'another secret and alg whose concatenation matches');
  t.equal(verifier()(forged, tok)[0], false, 'as a fresh engine answers');
});

t.test('malformed tokens throw on every call (errors are not remembered)', async (t) => {
  const verify = verifier();
  t.throws(() => verify({ secret: SECRET }, 'not-a-token'), /no period separators/);
  t.throws(() => verify({ secret: SECRET }, 'not-a-token'), /no period separators/);
});

t.test('the cache is bounded per key and in keys', async (t) => {
  const cache = new VerifiedTokens<boolean>();
  for (let i = 0; i < 1100; i++) cache.set('k', `t${i}`, true);
  t.equal(cache.size, 1024, 'at most 1024 tokens per key');
  t.equal(cache.get('k', 't0'), undefined, 'the oldest went first');
  t.equal(cache.get('k', 't1099'), true);
  for (let k = 0; k < 16; k++) cache.set(`key${k}`, 't', true);
  t.ok(cache.size <= 16 * 1024, 'at most 16 keys');
  t.equal(cache.get('k', 't1099'), undefined, 'the 17th key started over');
});
