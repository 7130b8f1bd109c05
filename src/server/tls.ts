/**
 * gRPC over TLS from `server.tls`, with rotation: the files are polled like
 * bundles and scripts, and only a checked set reaches the listener, so a
 * half-written or mismatched rotation keeps the last good certificate serving
 * instead of dropping every connection.
 *
 * Built on grpc-js's certificate-provider credentials (`grpc.experimental`),
 * which swap the live listener's secure context (`setSecureContext`) on each
 * update: new handshakes get the new certificate, open connections go on.
 */
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config/schema.js';
import { readTlsMaterial, TlsFileError, type TlsMaterial } from '../config/tls.js';
import { IacdashError } from '../errors.js';
import type { Logger } from '../telemetry/log.js';
import { HotReloadable } from './hot-reload.js';

type TlsConfig = NonNullable<Config['server']['tls']>;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/** Events: `loaded` ({@link TlsMaterial}) and `load_error` ({ error }). */
export class TlsFilesProvider extends HotReloadable<boolean> implements grpc.experimental.CertificateProvider {
  private current: TlsMaterial | undefined;
  /** The last refusal's reason: a file that stays bad is reported once, not at every poll. */
  private refused: string | undefined;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();

  constructor(readonly config: TlsConfig) {
    super();
  }

  /** Credentials for `bindAsync`: mTLS (client certificates required) when `client_ca_file` is set. */
  credentials(): grpc.ServerCredentials {
    const mtls = this.config.client_ca_file !== undefined;
    // grpc-js 1.14 passes its first argument on as the identity provider and the second as the CA provider.
    return grpc.experimental.createCertificateProviderServerCredentials(this, mtls ? this : null, mtls);
  }

  protected async loadOnce(): Promise<boolean> {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.config);
    } catch (error) {
      if ((error as Error).message !== this.refused) this.emit('load_error', { error });
      this.refused = (error as Error).message;
      return false;
    }
    this.refused = undefined;
    const prev = this.current;
    if (prev && prev.cert.equals(next.cert) && prev.key.equals(next.key) && (prev.ca ?? Buffer.alloc(0)).equals(next.ca ?? Buffer.alloc(0))) {
      return false;
    }
    this.current = next;
    for (const listener of this.identityListeners) listener({ certificate: next.cert, privateKey: next.key });
    if (next.ca) for (const listener of this.caListeners) listener({ caCertificate: next.ca });
    this.emit('loaded', next);
    return true;
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    const m = this.current;
    // Deferred: grpc-js registers its own watcher only after this call returns.
    if (m) process.nextTick(listener, { certificate: m.cert, privateKey: m.key });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    const ca = this.current?.ca;
    if (ca) process.nextTick(listener, { caCertificate: ca });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }
}

/**
 * The provider for `server.tls`, loaded and polling, with each rotation
 * logged; undefined when TLS is off. Throws `config_invalid` when the files
 * went bad between config load and start.
 */
export async function startTls(config: Config, logger: Logger): Promise<TlsFilesProvider | undefined> {
  const tls = config.server.tls;
  if (!tls) return undefined;
  const provider = new TlsFilesProvider(tls);
  provider.on('loaded', (m: TlsMaterial) =>
    logger.info('tls certificate loaded', { subject: m.leaf.subject.replace(/\n/g, ', '), not_after: m.leaf.validTo, mtls: m.ca !== undefined }),
  );
  provider.on('load_error', ({ error }: { error: Error }) =>
    logger.error('tls files refused; the previous certificate keeps serving', { code: 'config_invalid', reason: error.message }),
  );
  let refused: Error | undefined;
  provider.once('load_error', ({ error }: { error: Error }) => (refused = error));
  if (!(await provider.reload())) {
    const key = refused instanceof TlsFileError ? `.${refused.key}` : '';
    throw new IacdashError('config_invalid', `server.tls${key}: ${refused?.message}`);
  }
  if (tls.poll_interval_ms > 0) provider.watch(tls.poll_interval_ms);
  return provider;
}
