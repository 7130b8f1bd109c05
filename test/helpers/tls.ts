/**
 * Throwaway X.509 material for TLS tests, issued by the `openssl` CLI into a
 * temp folder at test time (Node cannot sign certificates; no key is ever
 * committed). EC P-256, valid for a day.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './bundles.js';

/** A certificate and its key, as file paths. */
export interface Issued {
  readonly cert: string;
  readonly key: string;
}

/** A CA that can issue server and client certificates. */
export interface TestCa extends Issued {
  readonly dir: string;
  /** Issues a leaf: `server` carries serverAuth and SANs localhost/127.0.0.1 plus `dnsNames`; `client` carries clientAuth. */
  issue(name: string, usage: 'server' | 'client', dnsNames?: string[]): Issued;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A new self-signed CA named `cn` in its own temp folder. */
export function makeCa(cn = 'iacdash test CA'): TestCa {
  const dir = tempDir('iacdash-pki-');
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  let serial = 1;
  return {
    dir,
    cert: join(dir, 'ca.crt'),
    key: join(dir, 'ca.key'),
    issue(name, usage, dnsNames = []) {
      const ext = join(dir, `${name}.ext`);
      const san = usage === 'server' ? ['DNS:localhost', ...dnsNames.map((d) => `DNS:${d}`), 'IP:127.0.0.1'] : [`DNS:${name}`];
      writeFileSync(ext, `subjectAltName=${san.join(',')}\nextendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}\nbasicConstraints=CA:FALSE\n`);
      openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(++serial),
        '-days', '1', '-extfile', ext, '-out', `${name}.crt`], dir);
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    },
  };
}

/** A folder laid out as a cert-manager Secret volume: tls.crt, tls.key and ca.crt (the issuing CA). */
export function secretDir(ca: TestCa, issued: Issued): string {
  const dir = tempDir('iacdash-secret-');
  copyFileSync(issued.cert, join(dir, 'tls.crt'));
  copyFileSync(issued.key, join(dir, 'tls.key'));
  copyFileSync(ca.cert, join(dir, 'ca.crt'));
  return dir;
}
