/**
 * crypto.x509.parse_certificates against real OPA, on certificates made
 * with the openssl CLI (node cannot create certificates). Without openssl
 * on PATH only the invalid inputs run, and the test says so.
 */
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { assertAgree, evaluateBoth, opaValue } from './oracle.js';

const run = promisify(execFile);

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Self-signed (or CA-signed) certificates covering the fields Go fills in. */
async function makeCertificates(dir: string): Promise<Record<string, string>> {
  const req = async (name: string, key: string[], ext: string[], extra: string[] = []): Promise<string> => {
    const addext = ext.flatMap((e) => ['-addext', e]);
    await run('openssl', ['req', '-x509', ...key, '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '30', ...addext, ...extra]);
    return readFile(join(dir, `${name}.pem`), 'utf8');
  };
  const rsa = ['-newkey', 'rsa:2048'];
  const ec = (curve: string): string[] => ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`];
  const certs: Record<string, string> = {};
  certs['rsaSans'] = await req('rsaSans', rsa, [
    'subjectAltName=DNS:example.com,DNS:*.example.com,IP:127.0.0.1,IP:2001:db8::1,IP:::ffff:10.0.0.1,email:a@b.c,' +
      'URI:spiffe://cluster.local/ns/default/sa/web,URI:https://user@host.example:8443/a%20b/c?q=1#frag,URI:urn:example:thing',
    'extendedKeyUsage=serverAuth,clientAuth,codeSigning,1.2.3.4.5',
  ], ['-subj', '/C=US/O=Acme/OU=Eng/OU=Ops/CN=example.com']);
  certs['ecEverything'] = await req('ecEverything', ec('P-256'), [
    'keyUsage=critical,digitalSignature,keyCertSign,cRLSign,decipherOnly',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    'certificatePolicies=1.2.3.4,2.5.29.32.0',
    'crlDistributionPoints=URI:http://crl.example.com/a.crl',
    'authorityInfoAccess=OCSP;URI:http://ocsp.example.com,caIssuers;URI:http://ca.example.com/ca.crt',
    'nameConstraints=critical,permitted;DNS:.example.com,permitted;email:example.com,excluded;IP:10.0.0.0/255.0.0.0,excluded;IP:2001:db8::/ffff:ffff::,excluded;URI:.bad.example',
    'policyConstraints=requireExplicitPolicy:1,inhibitPolicyMapping:0',
    'inhibitAnyPolicy=2',
    'policyMappings=1.2.3.4:1.2.3.5',
    '1.2.3.4.5.6=critical,ASN1:UTF8String:hello',
  ], ['-utf8', '-subj', '/CN=ünïcødé/O=Org/serialNumber=42/L=Berlin/ST=BE/street=Main St 1/postalCode=10115/C=DE']);
  certs['ed25519'] = await req('ed25519', ['-newkey', 'ed25519'], [], ['-subj', '/CN=ed']);
  certs['p521'] = await req('p521', ec('P-521'), [], ['-subj', '/CN=p521', '-sha512']);
  certs['pss'] = await req('pss', rsa, [], ['-subj', '/CN=pss', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']);
  // A leaf signed by rsaSans, and a version 1 certificate (no extensions).
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(dir, 'leaf.key'), '-subj', '/CN=leaf', '-out', join(dir, 'leaf.csr')]);
  await run('openssl', ['x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'rsaSans.pem'), '-CAkey', join(dir, 'rsaSans.key'), '-days', '2', '-out', join(dir, 'leaf.pem')]);
  certs['v1Leaf'] = await readFile(join(dir, 'leaf.pem'), 'utf8');
  return certs;
}

const der = (pem: string): string => new X509Certificate(pem).raw.toString('base64');

t.test('parse_certificates agrees with OPA on generated certificates', async (t) => {
  if (!hasOpenssl()) {
    t.comment('openssl is not on PATH: certificate inputs not generated, only invalid inputs are checked');
    t.pass('nothing to compare without openssl');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'iacdash-x509-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const certs = await makeCertificates(dir);
  const input: Record<string, string> = { ...certs };
  input['chain'] = certs['v1Leaf']! + certs['rsaSans']!;
  input['derBase64'] = der(certs['ecEverything']!);
  input['derChainBase64'] = Buffer.concat([certs['v1Leaf']!, certs['p521']!].map((p) => new X509Certificate(p).raw)).toString('base64');
  input['pemBase64'] = Buffer.from(certs['ed25519']!).toString('base64');

  // RSA moduli exceed a double (opa eval prints them clamped), so they are compared by value inside Rego.
  const cases: Record<string, string> = {};
  for (const name of Object.keys(input)) {
    cases[name] = `[object.remove(c, ["PublicKey"]) | some c in crypto.x509.parse_certificates(input.${name})]`;
    const certs = `crypto.x509.parse_certificates(input.${name})`;
    cases[`${name} keys`] = `{"objects": [object.remove(c.PublicKey, ["N"]) | some c in ${certs}; is_object(c.PublicKey)], "others": [c.PublicKey | some c in ${certs}; not is_object(c.PublicKey)]}`;
  }
  const rsa = new X509Certificate(certs['rsaSans']!);
  const n = BigInt(`0x${Buffer.from(rsa.publicKey.export({ format: 'jwk' }).n!, 'base64url').toString('hex')}`);
  const serial = BigInt(`0x${rsa.serialNumber}`);
  cases['exact modulus'] = `crypto.x509.parse_certificates(input.rsaSans)[0].PublicKey.N == ${n}`;
  cases['exact serial'] = `crypto.x509.parse_certificates(input.rsaSans)[0].SerialNumber == ${serial}`;
  cases['serial off by one'] = `crypto.x509.parse_certificates(input.rsaSans)[0].SerialNumber == ${serial + 1n}`;
  const r = assertAgree(t, await evaluateBoth(cases, { input }));
  for (const name of Object.keys(input)) t.equal(r[name]!.opa.kind, 'value', `${name} is a valid input for OPA`);
  t.equal(opaValue(r, 'exact modulus'), true);
  t.equal(opaValue(r, 'exact serial'), true);
  t.equal(opaValue(r, 'serial off by one'), false);
  t.equal((opaValue(r, 'chain') as unknown[]).length, 2, 'a chain gives one object per certificate');
  t.match(opaValue(r, 'ecEverything'), [{ UnhandledCriticalExtensions: [[1, 2, 3, 4, 5, 6]], PermittedDNSDomainsCritical: true }]);
});

t.test('invalid inputs', async (t) => {
  const key = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIB7Dx1Wcn7H0PoXC4S5nYkDmzn0Oc2ZK8CwP5hr0gvZP\n-----END PRIVATE KEY-----\n';
  const r = assertAgree(t, await evaluateBoth({
    garbage: 'crypto.x509.parse_certificates("not base64!")',
    empty: 'crypto.x509.parse_certificates("")',
    privateKeyPem: 'crypto.x509.parse_certificates(input.key)',
    truncatedDer: 'crypto.x509.parse_certificates("MIIBkTCB+6ADAgECAhRm")',
    notAString: 'crypto.x509.parse_certificates(input.n)',
    pemWithoutBlocks: 'crypto.x509.parse_certificates("-----BEGIN nothing")',
  }, { input: { key, n: 5 } }));
  t.equal(r['garbage']!.opa.kind, 'error');
  t.strictSame(opaValue(r, 'empty'), []);
});
