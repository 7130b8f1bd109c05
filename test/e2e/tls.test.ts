// ext_authz over TLS through a real Envoy: the iacdash cluster carries the
// UpstreamTlsContext of deploy/envoy/ext-authz-tls.yaml (trusted CA, SNI, SAN
// match) and, for mTLS, Envoy's client certificate. Certificates come from
// `openssl` at test time.
// Transport failures answer 503 (status_on_error) so they cannot pass for a policy's 403.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { buildBundle, REPO, tempDir } from '../helpers/bundles.js';
import { startSidecar, type Sidecar } from '../helpers/sidecar.js';
import { makeCa, type Issued } from '../helpers/tls.js';
import { bootstrap, cluster, extAuthzFilter, listener, request, routerFilter, startEchoUpstream, startEnvoy, type EchoUpstream } from './harness/index.js';

const SNI = 'iacdash.iacdash.svc.cluster.local';
const bundle = buildBundle('e2e', join(tempDir(), 'e2e.tar.gz'));
const ca = makeCa();
const serverCert = ca.issue('iacdash', 'server', [SNI]);
const envoyCert = ca.issue('envoy', 'client');
const stranger = makeCa('some other CA');
const strangerCert = stranger.issue('envoy-elsewhere', 'client');

interface UpstreamTls {
  trustedCa: string;
  clientCert?: Issued;
}

// The TLS transport socket of the shipped example, deploy/envoy/ext-authz-tls.yaml, with its
// Secret mount (/etc/iacdash-client) pointed at files issued here.
const EXAMPLE = parse(readFileSync(join(REPO, 'deploy', 'envoy', 'ext-authz-tls.yaml'), 'utf8'));
const exampleSocket = EXAMPLE.static_resources.clusters.find((c: { name: string }) => c.name === 'iacdash').transport_socket;

/**
 * The example's socket for the iacdash cluster: `trustedCa` verifies iacdash, `clientCert` is
 * Envoy's identity (left out: no client certificate). No `alpn_protocols`: Envoy offers h2 for
 * an HTTP/2 cluster by itself, which grpc-js requires.
 */
function tlsSocket(tls: UpstreamTls): Record<string, unknown> {
  const socket = structuredClone(exampleSocket);
  const context = socket.typed_config.common_tls_context;
  context.validation_context.trusted_ca.filename = tls.trustedCa;
  if (tls.clientCert) {
    context.tls_certificates = [{ certificate_chain: { filename: tls.clientCert.cert }, private_key: { filename: tls.clientCert.key } }];
  } else {
    delete context.tls_certificates;
  }
  return socket;
}

async function envoyFor(t: Test, upstream: EchoUpstream, authzPort: number, tls: UpstreamTls): Promise<{ port: number; logs: () => string }> {
  const iacdash = { ...cluster('iacdash', authzPort, { http2: true }), transport_socket: tlsSocket(tls) };
  const envoy = await startEnvoy({
    name: 'tls',
    config: bootstrap({
      listeners: [listener(0, [extAuthzFilter({ clusterName: 'iacdash', timeoutMs: 5000, statusOnError: 503 }), routerFilter()], 'upstream', { name: 'ingress' })],
      clusters: [cluster('upstream', upstream.port), iacdash],
    }),
  });
  t.teardown(() => envoy.stop());
  return { port: envoy.listenerPorts['ingress']!, logs: () => envoy.logs() };
}

async function sidecarFor(t: Test, tls: Record<string, unknown>): Promise<Sidecar> {
  const sidecar = await startSidecar(`bundle: {path: ${JSON.stringify(bundle)}}\n`, { server: { tls } });
  t.teardown(() => sidecar.stop());
  return sidecar;
}

async function echo(t: Test): Promise<EchoUpstream> {
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  return upstream;
}

t.test('TLS: Envoy verifies iacdash against the CA; the policy allows and denies as in plaintext', async (t) => {
  t.equal(exampleSocket.typed_config.sni, SNI, 'the example asks for the Service name the certificate carries');
  const upstream = await echo(t);
  const sidecar = await sidecarFor(t, { cert_file: serverCert.cert, key_file: serverCert.key });
  t.match(sidecar.logs(), /"grpc_tls":"tls"/);
  const envoy = await envoyFor(t, upstream, sidecar.grpcPort, { trustedCa: ca.cert });

  const allowed = await request(envoy.port, { path: '/allow/items' });
  t.equal(allowed.status, 200, envoy.logs());
  t.equal(allowed.headers['x-decision'], 'allowed');
  t.equal(upstream.last()?.headers['x-user'], 'alice');
  const denied = await request(envoy.port, { path: '/custom-deny' });
  t.equal(denied.status, 401, 'the policy\'s denial, not a transport failure');
  t.same(JSON.parse(denied.body), { error: 'who are you' });

  // An Envoy that trusts another CA refuses the handshake: fail-closed, iacdash never asked.
  const wrong = await envoyFor(t, upstream, sidecar.grpcPort, { trustedCa: stranger.cert });
  const before = upstream.requests.length;
  const refused = await request(wrong.port, { path: '/allow/items' });
  t.equal(refused.status, 503, 'status_on_error: the TLS handshake failed');
  t.equal(upstream.requests.length, before);
});

t.test('mTLS: iacdash answers only an Envoy that presents a certificate from client_ca_file', async (t) => {
  const upstream = await echo(t);
  const sidecar = await sidecarFor(t, { cert_file: serverCert.cert, key_file: serverCert.key, client_ca_file: ca.cert });
  t.match(sidecar.logs(), /"grpc_tls":"mtls"/);

  const withCert = await envoyFor(t, upstream, sidecar.grpcPort, { trustedCa: ca.cert, clientCert: envoyCert });
  const allowed = await request(withCert.port, { path: '/allow/items' });
  t.equal(allowed.status, 200, withCert.logs());
  t.equal((await request(withCert.port, { path: '/nothing-matches' })).status, 403, 'a policy denial over mTLS');

  const seen = upstream.requests.length;
  const anonymous = await envoyFor(t, upstream, sidecar.grpcPort, { trustedCa: ca.cert });
  t.equal((await request(anonymous.port, { path: '/allow/items' })).status, 503, 'no client certificate: iacdash refuses the connection');
  const elsewhere = await envoyFor(t, upstream, sidecar.grpcPort, { trustedCa: ca.cert, clientCert: strangerCert });
  t.equal((await request(elsewhere.port, { path: '/allow/items' })).status, 503, 'a client certificate from another CA: refused');
  t.equal(upstream.requests.length, seen, 'nothing reached the upstream');
});
