/** The crypto.* hash and HMAC host builtins against real OPA. */
import t from 'tap';
import { createHostBuiltins } from '../../../../src/policy/builtins/index.js';
import { assertAgree, evaluateBoth, opaValue } from './oracle.js';

const STRINGS = ['', 'abc', 'héllo wörld', '日本語テキスト', 'emoji 😀🚀', 'tab\tnewline\nquote"backslash\\', 'zero\u0000byte'];

t.test('hashes and HMACs of ASCII and unicode strings', async (t) => {
  const cases: Record<string, string> = {};
  STRINGS.forEach((s, i) => {
    const lit = JSON.stringify(s);
    for (const fn of ['md5', 'sha1', 'sha256']) cases[`${fn} #${i}`] = `crypto.${fn}(${lit})`;
    for (const fn of ['md5', 'sha1', 'sha256', 'sha512']) {
      cases[`hmac.${fn} #${i}`] = `crypto.hmac.${fn}(${lit}, "k€y")`;
      cases[`hmac.${fn} key #${i}`] = `crypto.hmac.${fn}("message", ${lit})`;
    }
  });
  cases['hmac.equal same'] = 'crypto.hmac.equal("abc", "abc")';
  cases['hmac.equal differs'] = 'crypto.hmac.equal("abc", "abd")';
  cases['hmac.equal lengths'] = 'crypto.hmac.equal("abc", "abcd")';
  cases['hmac.equal unicode'] = 'crypto.hmac.equal("é", "é")';
  const r = assertAgree(t, await evaluateBoth(cases));
  t.equal(opaValue(r, 'sha256 #1'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'the oracle itself is sane');
});

t.test('non-string arguments', async (t) => {
  assertAgree(t, await evaluateBoth({
    sha256: 'crypto.sha256(input.n)',
    md5: 'crypto.md5(input.o)',
    hmacKey: 'crypto.hmac.sha256("m", input.n)',
    hmacMessage: 'crypto.hmac.sha256(input.n, "k")',
  }, { input: { n: 1, o: {} } }));
  const strict = createHostBuiltins({ strictBuiltinErrors: true });
  t.throws(() => strict['crypto.sha256']!(1), /^crypto\.sha256: operand 1: expected string, got number$/);
  t.throws(() => strict['crypto.hmac.sha256']!('m', null), /^crypto\.hmac\.sha256: operand 2: expected string, got null$/);
});
