/**
 * createHostBuiltins as a whole: it covers what OPA's wasm asks its host
 * for, handles errors as OPA does, and refuses network builtins.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { x as untar } from 'tar';
import { HOST_BUILTIN_NAMES, RefusedBuiltinError, createHostBuiltins } from '../../../../src/policy/builtins/index.js';
import { toolPath } from '../../../../src/tools/locate.js';
import { evaluateBoth } from './oracle.js';

// Calls with the right argument types, so the policy type-checks; the values do not matter.
const CALLS: Record<string, string> = {
  'io.jwt.decode': 'io.jwt.decode(input.s)',
  'io.jwt.decode_verify': 'io.jwt.decode_verify(input.s, {})',
  'time.now_ns': 'time.now_ns()',
  'time.parse_rfc3339_ns': 'time.parse_rfc3339_ns(input.s)',
  'time.parse_ns': 'time.parse_ns(input.s, input.s)',
  'time.parse_duration_ns': 'time.parse_duration_ns(input.s)',
  'time.format': 'time.format(input.n)',
  'time.date': 'time.date(input.n)',
  'time.clock': 'time.clock(input.n)',
  'time.weekday': 'time.weekday(input.n)',
  'time.add_date': 'time.add_date(input.n, 1, 1, 1)',
  'time.diff': 'time.diff(input.n, input.n)',
  'crypto.md5': 'crypto.md5(input.s)',
  'crypto.sha1': 'crypto.sha1(input.s)',
  'crypto.sha256': 'crypto.sha256(input.s)',
  'crypto.hmac.md5': 'crypto.hmac.md5(input.s, input.s)',
  'crypto.hmac.sha1': 'crypto.hmac.sha1(input.s, input.s)',
  'crypto.hmac.sha256': 'crypto.hmac.sha256(input.s, input.s)',
  'crypto.hmac.sha512': 'crypto.hmac.sha512(input.s, input.s)',
  'crypto.hmac.equal': 'crypto.hmac.equal(input.s, input.s)',
  'crypto.x509.parse_certificates': 'crypto.x509.parse_certificates(input.s)',
  'net.lookup_ip_addr': 'net.lookup_ip_addr(input.s)',
  'net.cidr_contains': 'net.cidr_contains(input.s, input.s)',
};
for (const bits of ['256', '384', '512']) {
  for (const family of ['rs', 'ps', 'es', 'hs']) CALLS[`io.jwt.verify_${family}${bits}`] = `io.jwt.verify_${family}${bits}(input.s, input.s)`;
}

/** Names in the `builtins` export of the wasm OPA builds for these calls: what it will ask the host for. */
async function neededByWasm(calls: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'iacdash-needs-'));
  try {
    const rules = calls.map((c, i) => `r${i} := ${c}`).join('\n');
    await writeFile(join(dir, 'p.rego'), `package p\nimport rego.v1\n${rules}\nall := [${calls.map((_, i) => `r${i}`).join(', ')}]\n`);
    await promisify(execFile)(toolPath('opa'), ['build', '-t', 'wasm', '-e', 'p/all', '-o', join(dir, 'b.tar.gz'), join(dir, 'p.rego')]);
    await untar({ file: join(dir, 'b.tar.gz'), cwd: dir });
    const memory = new WebAssembly.Memory({ initial: 5 });
    const stub = (): number => 0;
    const env = { memory, opa_abort: stub, opa_println: stub, opa_builtin0: stub, opa_builtin1: stub, opa_builtin2: stub, opa_builtin3: stub, opa_builtin4: stub };
    const instance = new WebAssembly.Instance(new WebAssembly.Module(await readFile(join(dir, 'policy.wasm'))), { env });
    const ex = instance.exports as Record<string, (...a: number[]) => number>;
    const addr = ex['opa_json_dump']!(ex['builtins']!());
    const bytes = new Uint8Array(memory.buffer);
    const end = bytes.indexOf(0, addr);
    return Object.keys(JSON.parse(Buffer.from(bytes.subarray(addr, end)).toString()) as object).sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

t.test('we provide what the wasm asks its host for, and say what we do not', async (t) => {
  const needed = await neededByWasm(Object.values(CALLS));
  t.notOk(needed.includes('net.cidr_contains'), 'the wasm has net.cidr_contains built in');
  const missing = needed.filter((n) => !HOST_BUILTIN_NAMES.includes(n));
  t.strictSame(missing, ['time.format', 'time.parse_duration_ns'], 'only these are left unimplemented');
  t.strictSame(HOST_BUILTIN_NAMES.filter((n) => !needed.includes(n)), [], 'we provide nothing the wasm has built in');
  t.strictSame(Object.keys(createHostBuiltins()).sort(), [...HOST_BUILTIN_NAMES]);
});

t.test('net.lookup_ip_addr is refused, even where other builtin errors are not fatal', async (t) => {
  const message = 'net.lookup_ip_addr is not supported by iacdash: no network calls from policies';
  const errors: Error[] = [];
  const lenient = createHostBuiltins({ onError: (e) => errors.push(e) });
  t.throws(() => lenient['net.lookup_ip_addr']!('example.com'), new RefusedBuiltinError('net.lookup_ip_addr', 'no network calls from policies'));
  t.strictSame(errors, [], 'a refusal is not an ordinary builtin error');
  const r = await evaluateBoth({ lookup: 'net.lookup_ip_addr("localhost")' });
  t.strictSame(r['lookup']!.wasm, { kind: 'error', message }, 'the whole evaluation fails with the reason');
});

t.test('builtin errors: undefined plus onError by default, thrown when strict', async (t) => {
  const errors: Error[] = [];
  const lenient = createHostBuiltins({ onError: (e) => errors.push(e) });
  t.equal(lenient['io.jwt.decode']!('no dots'), undefined);
  t.equal(errors[0]?.message, 'io.jwt.decode: encoded JWT had no period separators');
  t.equal(createHostBuiltins()['io.jwt.decode']!('no dots'), undefined, 'onError is optional');
  const strict = createHostBuiltins({ strictBuiltinErrors: true });
  t.throws(() => strict['io.jwt.decode']!('no dots'), { name: 'BuiltinError', message: 'io.jwt.decode: encoded JWT had no period separators' });
  // The same call inside a policy: undefined in OPA and in the wasm.
  const r = await evaluateBoth({ decode: 'io.jwt.decode(input.s)' }, { input: { s: 'no dots' } });
  t.strictSame(r['decode'], {
    opa: { kind: 'error', message: 'io.jwt.decode: encoded JWT had no period separators' },
    wasm: { kind: 'error', message: 'io.jwt.decode: encoded JWT had no period separators' },
  }, 'both report the same builtin error and leave the rule undefined');
});

t.test('the default clock is the wall clock, in nanoseconds', async (t) => {
  const now = createHostBuiltins()['time.now_ns']!() as ArrayBuffer;
  const ns = BigInt(Buffer.from(now).toString());
  const drift = Number(ns / 1_000_000n) - Date.now();
  t.ok(Math.abs(drift) < 1000, `within a second of Date.now() (drift ${drift} ms)`);
});
