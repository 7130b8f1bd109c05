/**
 * The certificate, key and client CA files of `server.tls`: read, parsed and
 * checked together, so a bad file is refused at load (and at each rotation)
 * before it can reach the gRPC listener.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';

/** The file keys of `server.tls`. */
export interface TlsFiles {
  readonly cert_file: string;
  readonly key_file: string;
  readonly client_ca_file?: string | undefined;
}

/** What the files hold, ready for a TLS context. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Undefined without `client_ca_file` (no client certificates asked for). */
  readonly ca: Buffer | undefined;
  /** The leaf certificate, for logs (subject, expiry); never the key. */
  readonly leaf: X509Certificate;
}

/** A file that cannot serve; `key` is the config key naming it. */
export class TlsFileError extends Error {
  constructor(
    readonly key: keyof TlsFiles,
    message: string,
  ) {
    super(message);
    this.name = 'TlsFileError';
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function read(files: TlsFiles, key: keyof TlsFiles): Buffer {
  const file = files[key]!;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFileError(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Every certificate in a PEM file, parsed; at least one. */
function certificates(files: TlsFiles, key: 'cert_file' | 'client_ca_file', pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsFileError(key, `expected PEM certificates (-----BEGIN CERTIFICATE-----) in ${files[key]}, found none`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsFileError(key, `certificate ${i + 1} in ${files[key]} does not parse: ${(err as Error).message}`);
    }
  });
}

/** Reads and checks the files; throws {@link TlsFileError} naming the first bad one. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = read(files, 'cert_file');
  const leaf = certificates(files, 'cert_file', cert)[0]!;
  const key = read(files, 'key_file');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError('key_file', `expected a PEM private key in ${files.key_file}: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError('key_file', `${files.key_file} is not the key of the first certificate in ${files.cert_file} (${leaf.subject.replace(/\n/g, ', ')})`);
  }
  let ca: Buffer | undefined;
  if (files.client_ca_file !== undefined) {
    ca = read(files, 'client_ca_file');
    certificates(files, 'client_ca_file', ca);
  }
  // What the listener will do with them; catches anything the checks above let through.
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new TlsFileError('cert_file', `${files.cert_file}: ${(err as Error).message}`);
  }
  return { cert, key, ca, leaf };
}
