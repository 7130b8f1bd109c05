// Replay rate: writes N decision-log lines (default 1,000,000) in the shape the sidecar logs them, with
// ext_authz inputs for the example RBAC policy (policies/) and the decisions that policy really made
// (evaluated here with the same engine), then runs `iacdash replay` on them against a candidate whose
// permissions differ a little, as a user would, and prints decisions per second and the replay process's
// peak RSS. Asserts nothing.
// Usage: npm run build && node bench/replay/rate.mjs [N] [--keep]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'iacdash.js');
const N = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const KEEP = process.argv.includes('--keep');
const dir = mkdtempSync(join(tmpdir(), 'iacdash-replay-bench-'));

// The current bundle: the example policies, trusting x-user (the JWT is erased from logs, as by default).
// The candidate: the same, but support may no longer POST tickets and team 001 members may now POST.
function bundleOf(name, editPermissions) {
  const policies = join(dir, name);
  cpSync(join(ROOT, 'policies'), policies, { recursive: true });
  const configFile = join(policies, 'config', 'data.json');
  writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), allow_header_identity: true }));
  const permissionsFile = join(policies, 'rbac', 'permissions.json');
  const permissions = JSON.parse(readFileSync(permissionsFile, 'utf8'));
  editPermissions(permissions.permissions);
  writeFileSync(permissionsFile, JSON.stringify(permissions));
  const out = join(dir, `${name}.tar.gz`);
  const built = spawnSync(process.execPath, [BIN, 'build', policies, '-o', out], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`iacdash build failed:\n${built.stderr}`);
  return out;
}
const current = bundleOf('current', () => undefined);
const bundle = bundleOf('candidate', (p) => {
  p['support'] = p['support'].map((g) => (g.path === '/api/tickets/**' ? { ...g, methods: ['GET'] } : g));
  p['team-001-member'] = [{ methods: ['GET', 'HEAD', 'POST'], path: '/api/teams/001/**' }];
});

// Deterministic traffic (mulberry32), so runs are comparable.
let seed = 0x1acda5;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const users = Object.keys(JSON.parse(readFileSync(join(ROOT, 'policies', 'rbac', 'users.json'), 'utf8')).users);
const team = () => String(1 + Math.floor(random() * 100)).padStart(3, '0');
const PATHS = [
  () => '/api/orders',
  () => `/api/orders/${Math.floor(random() * 10000)}`,
  () => `/api/orders?limit=${10 + Math.floor(random() * 90)}&page=${Math.floor(random() * 5)}`,
  () => `/api/teams/${team()}/items/${Math.floor(random() * 500)}`,
  () => `/api/reports/${team()}/q${1 + Math.floor(random() * 4)}`,
  () => `/api/users/${pick(users)}`,
  () => `/api/tickets/${Math.floor(random() * 9000)}`,
  () => '/api/audit/events',
  () => '/admin/audit/log',
  () => '/health',
];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];

/** One input as the sidecar builds it; `ID` stands for the request id, filled in per line. */
function input(i) {
  const method = pick(METHODS);
  const path = pick(PATHS)();
  const user = pick(users);
  const [p, q = ''] = path.split('?');
  const parsedQuery = {};
  for (const kv of q ? q.split('&') : []) {
    const [k, v] = kv.split('=');
    (parsedQuery[k] ??= []).push(v);
  }
  return {
    attributes: {
      source: { address: { socketAddress: { address: `10.0.${i % 250}.${(i >> 8) % 250}`, portValue: 30000 + (i % 30000) } } },
      destination: { address: { socketAddress: { address: '10.1.0.7', portValue: 8080 } } },
      request: {
        time: '2026-01-01T00:00:00Z',
        http: {
          id: 'ID',
          method,
          headers: {
            ':authority': 'shop.example', ':method': method, ':path': path, ':scheme': 'https',
            accept: 'application/json', 'user-agent': 'bench/1.0', 'x-forwarded-proto': 'https', 'x-request-id': 'ID', 'x-user': user,
          },
          path, host: 'shop.example', scheme: 'https', protocol: 'HTTP/1.1',
        },
      },
    },
    version: { ext_authz: 'v3', encoding: 'protojson' },
    parsed_path: p.split('/').slice(1),
    parsed_query: parsedQuery,
    parsed_body: null,
    truncated_body: false,
  };
}

// Distinct requests, each with the decision the current bundle really makes (the policy reads no request id,
// so one decision holds for every line made from a template).
const TEMPLATES = Math.min(N, 5000);
const { readBundle } = await import(join(ROOT, 'dist', 'policy', 'bundle.js'));
const { PolicyEngine } = await import(join(ROOT, 'dist', 'policy', 'engine.js'));
const engine = PolicyEngine.create(readBundle(readFileSync(current), 'envoy/authz/allow'), { entrypoint: 'envoy/authz/allow', maxMemoryBytes: 64 << 20, strictBuiltinErrors: false });
const templates = [];
for (let i = 0; i < TEMPLATES; i++) {
  const text = JSON.stringify(input(i));
  const [{ result }] = engine.evaluate(text);
  // Split around the placeholders once; each line joins the parts with its own id.
  const head = JSON.stringify({ decision_id: 'ID', path: 'envoy/authz/allow' }).slice(0, -1);
  const tail = JSON.stringify({
    labels: { id: 'bench', version: '0.1.0' }, result, bundles: { iacdash: { revision: 'current' } },
    timestamp: '2026-01-01T00:00:00.123456Z', metrics: { timer_rego_query_eval_ns: 61000, timer_server_handler_ns: 140000 },
    erased: ['/input/attributes/request/http/headers/authorization'],
  }).slice(1);
  templates.push(`${head},"input":${text},${tail}`.split('"ID"'));
}

/** One line as the sidecar's decision logger writes it. */
function line(i) {
  const id = `"${(0x10000000 + i).toString(16)}-0000-4000-8000-${String(i).padStart(12, '0')}"`;
  return templates[i % TEMPLATES].join(id);
}

const log = join(dir, 'decisions.log');
const out = createWriteStream(log);
let chunk = '';
for (let i = 0; i < N; i++) {
  chunk += `${line(i)}\n`;
  if (chunk.length > 1 << 20) {
    if (!out.write(chunk)) await once(out, 'drain');
    chunk = '';
  }
}
out.end(chunk);
await once(out, 'finish');
const logBytes = statSync(log).size;

/** Peak RSS of a running process from /proc (Linux), in bytes; undefined elsewhere. */
function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const load = loadavg()[0];
const started = performance.now();
const child = spawn(process.execPath, [BIN, 'replay', '--bundle', bundle, '--format', 'json', log], { stdio: ['ignore', 'pipe', 'inherit'] });
let stdout = '';
child.stdout.on('data', (d) => (stdout += d));
let peak = 0;
const poll = setInterval(() => (peak = Math.max(peak, peakRss(child.pid) ?? 0)), 100);
const [code] = await once(child, 'exit');
clearInterval(poll);
const wallMs = performance.now() - started;
if (code !== 0) throw new Error(`iacdash replay exited ${code}`);
const report = JSON.parse(stdout);

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`iacdash replay: ${fmt(report.entries)} decisions (${(logBytes / 1e6).toFixed(0)} MB log, ${fmt(TEMPLATES)} distinct requests) of the example RBAC policy against a candidate with changed permissions`);
console.log('');
console.log('| Decisions | Replay loop | Decisions/s | Whole command | Peak RSS | Flips |');
console.log('|---|---|---|---|---|---|');
console.log(`| ${fmt(report.entries)} | ${(report.elapsed_ms / 1000).toFixed(1)} s | ${fmt(report.entries_per_second)} | ${(wallMs / 1000).toFixed(1)} s | ${peak ? `${(peak / 1048576).toFixed(0)} MiB` : 'n/a'} | ${fmt(report.flips)} |`);
console.log('');
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, 1-minute load average ${load.toFixed(1)} at start.`);
console.log(`Flip groups: ${report.groups.map((g) => `${g.reason} ${fmt(g.count)}`).join(', ')}`);
if (KEEP) console.log(`Kept: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
