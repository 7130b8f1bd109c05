// The README walk-through: `iacdash build policies`, `iacdash serve` with iacdash.yaml,
// and Envoy running deploy/envoy/ext-authz.yaml (ports moved off the fixed ones).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { REPO, tempDir } from '../helpers/bundles.js';
import { startSidecar } from '../helpers/sidecar.js';
import { request, startEnvoy } from './harness/index.js';

/** The bearer token a shipped example request carries (they expire in 2100). */
function tokenOf(example: string): string {
  const req = JSON.parse(readFileSync(join(REPO, 'policies', 'examples', example), 'utf8'));
  return req.attributes.request.http.headers.authorization;
}

t.test('the bundled example policies behind the README Envoy config', async (t) => {
  const bundle = join(tempDir(), 'policies.tar.gz');
  const build = spawnSync(process.execPath, [join(REPO, 'bin', 'iacdash.js'), 'build', 'policies', '-o', bundle], { cwd: REPO, encoding: 'utf8' });
  t.equal(build.status, 0, build.stderr);

  const shipped = readFileSync(join(REPO, 'iacdash.yaml'), 'utf8').replace(/^(\s*path:) build\/policies\.tar\.gz/m, `$1 ${JSON.stringify(bundle)}`);
  const sidecar = await startSidecar(shipped.replace(/^server:[\s\S]*?(?=^bundle:)/m, ''));
  t.teardown(() => sidecar.stop());

  const envoyConfig = parse(readFileSync(join(REPO, 'deploy', 'envoy', 'ext-authz.yaml'), 'utf8'));
  envoyConfig.admin.address.socket_address.port_value = 0;
  envoyConfig.static_resources.listeners[0].address.socket_address.port_value = 0;
  envoyConfig.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = sidecar.grpcPort;
  const envoy = await startEnvoy({ name: 'readme', config: envoyConfig });
  t.teardown(() => envoy.stop());
  const port = envoy.listenerPorts['ingress']!;

  t.equal((await request(port, { path: '/health' })).status, 200, envoy.logs());
  const anonymous = await request(port, { path: '/api/orders' });
  t.equal(anonymous.status, 401);
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="iacdash"');

  const alice = await request(port, { path: '/api/orders?limit=10', headers: { authorization: tokenOf('alice-get-allowed.jsonc') } });
  t.equal(alice.status, 200);
  t.equal(alice.body, 'hello from the backend\n');
  t.equal(alice.headers['x-decision'], 'allowed');

  const bob = await request(port, { method: 'DELETE', path: '/api/orders/17', headers: { authorization: tokenOf('bob-delete-forbidden.jsonc') } });
  t.equal(bob.status, 403);
  t.match(JSON.parse(bob.body), { error: 'forbidden' });

  const carol = await request(port, {
    method: 'POST',
    path: '/api/orders',
    headers: { authorization: tokenOf('carol-post-invalid-body.jsonc'), 'content-type': 'application/json' },
    body: '{"item":"widget","quantity":0}',
  });
  t.equal(carol.status, 400);
  t.match(JSON.parse(carol.body), { error: 'invalid_body', field: 'quantity' });
  t.notMatch(sidecar.logs(), /eyJhbGci/, 'no token reaches the sidecar log');
});
