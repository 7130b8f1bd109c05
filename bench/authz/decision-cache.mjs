// The decision cache's effect on one Check, without gRPC: the Authorizer on the example RBAC data
// with the caller read from an x-user header (a deterministic policy, unlike the example bundle's
// JWT check, for which the cache is off), 64 requests over 8 users, 4 paths and 2 methods, with
// authz.decision_cache_size 0 and 10,000 in alternating rounds. Reads its own CPU time.
// Prints one line per round; asserts nothing.
// Usage: npm run build && node bench/authz/decision-cache.mjs [--rounds 3] [--checks 50000]
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importDist, POLICIES_DIR } from '../lib/paths.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, checks: { type: 'string', default: '50000' } } });
const { buildBundle } = await importDist('cli/build.js');
const { parseConfig } = await importDist('config/load.js');
const { createPolicyStore } = await importDist('server/server.js');
const { Authorizer } = await importDist('authz/authorizer.js');
const { Logger } = await importDist('telemetry/log.js');

const AUTHZ = `package envoy.authz

import data.rbac

user := input.attributes.request.http.headers["x-user"]

path := split(input.attributes.request.http.path, "?")[0]

default allow := {"allowed": false, "http_status": 403}

allow := {"allowed": true, "headers": {"x-user": user}} if {
	rbac.permitted(rbac.user_roles(user), input.attributes.request.http.method, path)
}
`;
const dir = mkdtempSync(join(tmpdir(), 'iacdash-cache-bench-'));
const src = join(dir, 'policy');
mkdirSync(join(src, 'envoy'), { recursive: true });
cpSync(join(POLICIES_DIR, 'rbac'), join(src, 'rbac'), { recursive: true, filter: (f) => !f.endsWith('_test.rego') && !f.endsWith('.mjs') });
writeFileSync(join(src, 'envoy', 'authz.rego'), AUTHZ);
const bundle = join(dir, 'bundle.tar.gz');
if (buildBundle({ dirs: [src], output: bundle, entrypoints: [], diagnostics: () => {} }) !== 0) throw new Error('iacdash build failed');

const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'user-0001', 'user-0100'];
const paths = ['/api/orders', '/api/orders/17', '/api/users/42', '/api/teams/042/projects'];
const mix = Array.from({ length: 64 }, (_, i) => ({
  ok: true,
  value: { attributes: { request: { http: { method: i % 3 ? 'GET' : 'DELETE', path: `${paths[i % 4]}?page=${i}`, headers: { 'x-user': users[i % 8], 'x-request-id': `r-${i}`, 'user-agent': 'bench', accept: '*/*' } } } } },
}));

async function run(size, checks) {
  const config = parseConfig(`bundle:\n  path: ${JSON.stringify(bundle)}\n  poll_interval_ms: 0\nauthz:\n  decision_cache_size: ${size}\n`, 'bench.yaml');
  const store = createPolicyStore(config);
  await store.reload();
  const authorizer = new Authorizer(store, config, new Logger('warn', [], () => {}));
  for (let i = 0; i < 5000; i++) authorizer.check(mix[i % mix.length]);
  let allowed = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < checks; i++) {
    const o = authorizer.check(mix[i % mix.length]);
    if (o.kind === 'response' && o.allowed) allowed++;
  }
  const t = process.cpuUsage(t0);
  return { us: (t.user + t.system) / checks, allowed };
}

const checks = Number(values.checks);
for (let round = 1; round <= Number(values.rounds); round++) {
  const off = await run(0, checks);
  const on = await run(10_000, checks);
  if (off.allowed !== on.allowed) throw new Error(`the cache changed decisions: ${off.allowed} vs ${on.allowed} allowed`);
  console.log(`round ${round}: ${off.us.toFixed(1)} µs CPU per Check with the cache off, ${on.us.toFixed(1)} µs on (${on.allowed} of ${checks} allowed either way)`);
}
rmSync(dir, { recursive: true, force: true });
