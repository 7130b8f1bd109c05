// server.tls: bad files refused at load naming the key; Check over TLS and
// mTLS with a real grpc-js client; rotation swaps the certificate, a bad
// rotation keeps the last good one. Certificates come from `openssl` at test time.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { envoyPackageDefinition } from '../../../src/server/protos.js';
import { Logger } from '../../../src/telemetry/log.js';
import { buildBundle, FIXTURES, tempDir } from '../../helpers/bundles.js';
import { check } from '../../helpers/grpc.js';
import { makeCa } from '../../helpers/tls.js';

const BAD = join(FIXTURES, 'tls', 'bad');
const ca = makeCa();
const server1 = ca.issue('server-one', 'server', ['iacdash.iacdash.svc.cluster.local']);
const server2 = ca.issue('server-two', 'server');
const client = ca.issue('envoy', 'client');
const stranger = makeCa('some other CA');
const strangerClient = stranger.issue('intruder', 'client');
const bundle = buildBundle('basic', join(tempDir(), 'basic.tar.gz'));

const tlsYaml = (tls: Record<string, unknown>): string => `server: {tls: ${JSON.stringify(tls)}}\n`;

t.test('bad server.tls files are refused at load, naming the file and key', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ cert_file: '/nonexistent/tls.crt', key_file: server1.key }, /: test\.yaml: server\.tls\.cert_file: cannot read \/nonexistent\/tls\.crt: ENOENT$/],
    [{ cert_file: join(BAD, 'not-pem.crt'), key_file: server1.key }, /test\.yaml: server\.tls\.cert_file: expected PEM certificates .* found none/],
    [{ cert_file: join(BAD, 'truncated.crt'), key_file: server1.key }, /test\.yaml: server\.tls\.cert_file: certificate 1 in .*truncated\.crt does not parse/],
    [{ cert_file: server1.cert, key_file: join(BAD, 'not-a-key.key') }, /test\.yaml: server\.tls\.key_file: expected a PEM private key in .*not-a-key\.key/],
    [{ cert_file: server1.cert, key_file: server2.key }, /test\.yaml: server\.tls\.key_file: .*server-two\.key is not the key of the first certificate in .*server-one\.crt \(CN=server-one\)/],
    [{ cert_file: server1.cert, key_file: server1.key, client_ca_file: join(BAD, 'not-pem.crt') }, /test\.yaml: server\.tls\.client_ca_file: expected PEM certificates/],
    [{ cert_file: server1.cert }, /test\.yaml: server\.tls\.key_file: .*expected string/],
    [{ cert_file: server1.cert, key_file: server1.key, ca_file: ca.cert }, /test\.yaml: server\.tls: Unrecognized key: "ca_file"/],
  ];
  for (const [tls, message] of cases) {
    t.throws(() => parseConfig(tlsYaml(tls), 'test.yaml'), { code: 'config_invalid', message }, JSON.stringify(tls));
  }
  const ok = parseConfig(tlsYaml({ cert_file: server1.cert, key_file: server1.key }), 'test.yaml');
  t.same(ok.server.tls, { cert_file: server1.cert, key_file: server1.key, poll_interval_ms: 1000 });
  t.equal(parseConfig('', 'test.yaml').server.tls, undefined, 'plaintext by default');
});

async function start(t: Test, tls: Record<string, unknown>, logs: string[] = []): Promise<RunningServer> {
  const config = parseConfig(
    `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0", tls: ${JSON.stringify(tls)}}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\n`,
    'test.yaml',
  );
  const server = await startServer(config, new Logger('info', config.log.mask_headers, (l) => logs.push(l)));
  t.teardown(() => server.close());
  return server;
}

function authzClient(t: Test, port: number, credentials: grpc.ChannelCredentials): grpc.Client & Record<string, any> {
  const Ctor = grpc.makeClientConstructor(
    envoyPackageDefinition()['envoy.service.auth.v3.Authorization'] as unknown as grpc.ServiceDefinition,
    'Authorization',
  );
  // The certificate names localhost too; SNI must be a host name, not an IP (RFC 6066).
  const c = new Ctor(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' }) as grpc.Client & Record<string, any>;
  t.teardown(() => c.close());
  return c;
}

const request = { attributes: { request: { http: { method: 'GET', path: '/x', headers: {} } } } };
const trusting = (issued?: { cert: string; key: string }, caFile = ca.cert): grpc.ChannelCredentials =>
  grpc.credentials.createSsl(readFileSync(caFile), issued ? readFileSync(issued.key) : null, issued ? readFileSync(issued.cert) : null);

t.test('TLS: a client that trusts the CA gets an answer; plaintext and other CAs get none', async (t) => {
  const logs: string[] = [];
  const server = await start(t, { cert_file: server1.cert, key_file: server1.key, poll_interval_ms: 0 }, logs);
  const ok = await check(authzClient(t, server.grpcPort, trusting()), request);
  t.equal(ok.error, null);
  t.equal(ok.response.status.code, 0, 'Check answered over TLS');
  t.match(logs.join(''), /"msg":"listening".*"grpc_tls":"tls"/);
  t.match(logs.join(''), /"msg":"tls certificate loaded".*"subject":"CN=server-one".*"mtls":false/);

  const plain = await check(authzClient(t, server.grpcPort, grpc.credentials.createInsecure()), request);
  t.equal(plain.error?.code, grpc.status.UNAVAILABLE, 'a plaintext client is refused');
  const wrongCa = await check(authzClient(t, server.grpcPort, trusting(undefined, stranger.cert)), request);
  t.equal(wrongCa.error?.code, grpc.status.UNAVAILABLE, 'a client that does not trust the CA refuses the server');
  t.match(wrongCa.error?.details, /certificate|verify/i);
});

t.test('mTLS: client_ca_file requires a client certificate the CA signed', async (t) => {
  const logs: string[] = [];
  const server = await start(t, { cert_file: server1.cert, key_file: server1.key, client_ca_file: ca.cert, poll_interval_ms: 0 }, logs);
  const ok = await check(authzClient(t, server.grpcPort, trusting(client)), request);
  t.equal(ok.error, null);
  t.equal(ok.response.status.code, 0, 'a client with a certificate from the CA is answered');
  t.match(logs.join(''), /"grpc_tls":"mtls"/);

  const anonymous = await check(authzClient(t, server.grpcPort, trusting()), request);
  t.equal(anonymous.error?.code, grpc.status.UNAVAILABLE, 'no client certificate: refused');
  const intruder = await check(authzClient(t, server.grpcPort, trusting(strangerClient)), request);
  t.equal(intruder.error?.code, grpc.status.UNAVAILABLE, 'a client certificate from another CA: refused');
});

/** The CN of the certificate a new handshake gets. */
function servedCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(ca.cert), servername: 'localhost', ALPNProtocols: ['h2'] }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.destroy();
      resolve(String(cn));
    });
    socket.once('error', reject);
  });
}

async function until(t: Test, what: string, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await test())) {
    if (Date.now() > deadline) t.fail(`timed out waiting for: ${what}`);
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('rotation: new files are served to new handshakes; a bad rotation keeps the last good certificate', async (t) => {
  const dir = tempDir();
  const files = { cert_file: join(dir, 'tls.crt'), key_file: join(dir, 'tls.key') };
  copyFileSync(server1.cert, files.cert_file);
  copyFileSync(server1.key, files.key_file);
  const logs: string[] = [];
  const server = await start(t, { ...files, poll_interval_ms: 20 }, logs);
  const c = authzClient(t, server.grpcPort, trusting());
  t.equal((await check(c, request)).error, null);
  t.equal(await servedCn(server.grpcPort), 'server-one');

  // A half-done rotation: the new certificate is in place, its key is not yet.
  copyFileSync(server2.cert, files.cert_file);
  await until(t, 'the mismatched pair is refused', async () => /tls files refused/.test(logs.join('')));
  t.match(logs.join(''), /"msg":"tls files refused; the previous certificate keeps serving".*is not the key of the first certificate/);
  t.equal(await servedCn(server.grpcPort), 'server-one', 'the last good certificate still serves');
  t.equal((await check(authzClient(t, server.grpcPort, trusting()), request)).error, null, 'and new connections are answered');
  await new Promise((r) => setTimeout(r, 100)); // several polls of the same bad pair
  t.equal((logs.join('').match(/tls files refused/g) ?? []).length, 1, 'a pair that stays bad is reported once, not at every poll');

  copyFileSync(server2.key, files.key_file);
  await until(t, 'the new certificate is served', async () => (await servedCn(server.grpcPort)) === 'server-two');
  t.equal(await servedCn(server.grpcPort), 'server-two');
  t.equal((await check(c, request)).error, null, 'the connection opened before the rotation still works');
  t.equal((await check(authzClient(t, server.grpcPort, trusting()), request)).error, null, 'a new connection works');
  t.match(logs.join(''), /"msg":"tls certificate loaded".*"subject":"CN=server-two"/);

  writeFileSync(files.cert_file, 'garbage');
  await until(t, 'the garbage is refused', async () => (logs.join('').match(/tls files refused/g) ?? []).length >= 2);
  t.equal(await servedCn(server.grpcPort), 'server-two', 'garbage on disk: the last good certificate still serves');
});
