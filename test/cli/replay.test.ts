// `iacdash replay` as a user runs it: a real sidecar writes the decision log, real OPA builds both bundles,
// the CLI runs as a subprocess; output and exit codes are checked.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { iacdashAsync, type Run } from './helpers.js';
import { toolPath } from '../../src/tools/locate.js';
import { buildBundle, FIXTURES, tempDir } from '../helpers/bundles.js';
import { authzClient, check } from '../helpers/grpc.js';
import { startSidecar } from '../helpers/sidecar.js';

const REPLAY = join(FIXTURES, 'replay');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const iacdash = iacdashAsync;

const dir = tempDir('iacdash-replay-');
const current = buildBundle(join(REPLAY, 'current'), join(dir, 'current.tar.gz'), { revision: 'current-1' });
const candidate = buildBundle(join(REPLAY, 'candidate'), join(dir, 'candidate.tar.gz'), { revision: 'candidate-2' });

/** [method, path, x-user (or none), with an Authorization header the logger erases] */
const TRAFFIC: Array<[string, string, string | undefined, boolean]> = [
  ['GET', '/api/orders', 'alice', false], // changed headers (x-admin)
  ['GET', '/api/orders?page=2', 'alice', false], // changed headers
  ['DELETE', '/api/orders/1', 'alice', true], // changed headers
  ['GET', '/api/orders', 'bob', false], // unchanged allow
  ['GET', '/api/orders/7', 'bob', false], // unchanged allow
  ['GET', '/api/orders', 'bob', true], // unchanged allow
  ['GET', '/api/reports/q1', 'bob', false], // allow→deny
  ['GET', '/api/reports/q2', 'bob', false], // allow→deny
  ['POST', '/api/feedback', 'bob', true], // deny→allow
  ['GET', '/api/orders', undefined, false], // changed status+body (403→401)
  ['DELETE', '/api/orders/1', 'bob', false], // unchanged deny
];

function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').length : 0;
}

/** Sends TRAFFIC through a real sidecar serving `current` with decision logs to a file; returns the file. */
async function recordLog(): Promise<string> {
  const file = join(dir, 'decisions.log');
  const sidecar = await startSidecar(`bundle: {path: ${JSON.stringify(current)}}\ndecision_logs: {enabled: true, sink: file, file: ${JSON.stringify(file)}}\n`);
  const client = authzClient(sidecar.grpcPort);
  try {
    for (const [method, path, user, auth] of TRAFFIC) {
      const headers: Record<string, string> = { ':method': method, ':path': path };
      if (user) headers['x-user'] = user;
      if (auth) headers['authorization'] = 'Bearer s3cret';
      const r = await check(client, { attributes: { request: { http: { method, path, host: 'shop.example', headers } } } });
      if (r.error) throw r.error;
    }
    // The logger writes asynchronously, and a stop gives up on entries queued behind a slow write: wait for all of them.
    const deadline = Date.now() + 60_000;
    while (lineCount(file) < TRAFFIC.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    client.close();
    await sidecar.stop();
  }
  return file;
}

const log = await recordLog();

t.test('the sidecar logged every decision, credentials erased', async (t) => {
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  t.equal(lines.length, TRAFFIC.length);
  t.notMatch(readFileSync(log, 'utf8'), /s3cret/);
});

t.test('replaying against the bundle that made the decisions flips nothing', async (t) => {
  const r = await iacdash(['replay', '--bundle', current, '--format', 'json', log]);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.equal(report.entries, TRAFFIC.length);
  t.equal(report.flips, 0);
  t.same(report.recorded_revisions, ['current-1']);
});

t.test('JSON report: flips grouped by path and reason, with examples and masked counts', async (t) => {
  const r = await iacdash(['replay', '--bundle', candidate, '--format', 'json', log]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');
  const report = JSON.parse(r.stdout);
  t.equal(report.revision, 'candidate-2');
  t.equal(report.entries, 11);
  t.equal(report.flips, 7);
  t.equal(report.unchanged, 4);
  t.equal(report.bad_lines, 0);
  const counts = Object.fromEntries(report.groups.map((g: { path: string; reason: string; count: number }) => [`${g.path} ${g.reason}`, g.count]));
  t.same(counts, {
    'envoy/authz/allow changed headers': 3,
    'envoy/authz/allow allow→deny': 2,
    'envoy/authz/allow deny→allow': 1,
    'envoy/authz/allow changed status+body': 1,
  });
  const ids = new Set(readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).decision_id));
  const allowDeny = report.groups.find((g: { reason: string }) => g.reason === 'allow→deny');
  t.same(allowDeny.examples.map((e: { request: string }) => e.request), ['GET /api/reports/q1', 'GET /api/reports/q2']);
  t.match(allowDeny.examples[0], { before: 'allow', after: 'deny 403' });
  for (const g of report.groups) for (const e of g.examples) t.ok(ids.has(e.decision_id), `example ${e.decision_id} is a logged decision`);
  const status = report.groups.find((g: { reason: string }) => g.reason === 'changed status+body');
  t.match(status.examples[0].detail, /status 403→401/);
  const headers = report.groups.find((g: { reason: string }) => g.reason === 'changed headers');
  t.match(headers.examples[0].detail, /x-admin/);
  t.equal(report.masked_entries, 3, 'three requests carried an Authorization header');
  t.equal(report.masked_flips, 2, 'DELETE by alice and POST /api/feedback');
  t.same(report.masked_fields, ['/input/attributes/request/http/headers/authorization']);
  t.match(report.masked_note, /may be spurious/);
  t.same(report.paths, [{ path: 'envoy/authz/allow', entries: 11, flips: 7 }]);
  t.equal(report.threshold, null);
});

t.test('the shipped sample log (the README walk-through) shows the same flips', async (t) => {
  const r = await iacdash(['replay', '--bundle', candidate, '--max-flips', '0', join(REPLAY, 'sample-decisions.jsonl')]);
  t.equal(r.code, 1, 'more flips than --max-flips 0');
  t.match(r.stdout, /replay: 11 decisions from .*sample-decisions\.jsonl/);
  t.match(r.stdout, /flips: 7 \(63\.64%\)/);
  t.match(r.stdout, /allow→deny\s+2/);
});

t.test('table report on stdout', async (t) => {
  const r = await iacdash(['replay', '--bundle', candidate, log]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /flips: 7 \(63\.64%\)\s+unchanged: 4\s+bad lines skipped: 0/);
  t.match(r.stdout, /PATH\s+REASON\s+FLIPS\s+MASKED/);
  t.match(r.stdout, /envoy\/authz\/allow\s+changed headers\s+3\s+1/);
  t.match(r.stdout, /envoy\/authz\/allow\s+allow→deny\s+2\s+0/);
  t.match(r.stdout, /[0-9a-f-]{36}\s+GET \/api\/reports\/q1\s+allow → deny 403/);
  t.match(r.stdout, /Note: 3 of 11 decisions had erased or masked fields \(\/input\/attributes\/request\/http\/headers\/authorization\)/);
});

t.test('the threshold sets the exit code: a count or a percentage', async (t) => {
  const cases: Array<[string[], number]> = [
    [['--max-flips', '6'], 1],
    [['--max-flips', '7'], 0],
    [['--threshold', '6'], 1],
    [['--threshold', '60%'], 1],
    [['--threshold', '64%'], 0],
  ];
  const runs = await Promise.all(cases.map(([flags]) => iacdash(['replay', '--bundle', candidate, '--format', 'json', ...flags, log])));
  cases.forEach(([flags, code], i) => {
    const r = runs[i]!;
    t.equal(r.code, code, `${flags.join(' ')}: ${r.stderr}`);
    t.equal(JSON.parse(r.stdout).threshold.exceeded, code === 1);
  });
  const table = await iacdash(['replay', '--bundle', candidate, '--max-flips', '0', log]);
  t.equal(table.code, 1);
  t.match(table.stdout, /Threshold 0 flips: EXCEEDED \(7 flips, 63\.64%\)/);
});

t.test('gzip files, several files and stdin give the same counts', async (t) => {
  const gz = join(dir, 'decisions.log.gz');
  writeFileSync(gz, gzipSync(readFileSync(log)));
  const [several, stdin] = await Promise.all([
    iacdash(['replay', '--bundle', candidate, '--format', 'json', gz, log]),
    iacdash(['replay', '--bundle', candidate, '--format', 'json', '-'], readFileSync(log)),
  ]);
  const both = JSON.parse(several.stdout);
  t.equal(both.entries, 22);
  t.equal(both.flips, 14);
  t.equal(stdin.code, 0, stdin.stderr);
  t.equal(JSON.parse(stdin.stdout).flips, 7);
});

t.test('--path evaluates every entry at another entrypoint', async (t) => {
  const [r, missing] = await Promise.all([
    iacdash(['replay', '--bundle', candidate, '--format', 'json', '--path', 'data.envoy.authz.allow', log]),
    iacdash(['replay', '--bundle', candidate, '--path', 'nope/allow', log]),
  ]);
  t.equal(JSON.parse(r.stdout).flips, 7, 'data.x.y is the same path as x/y');
  t.equal(missing.code, 1);
  t.match(missing.stderr, /candidate\.tar\.gz: has no entrypoint nope\/allow/);
});

t.test("OPA's own decision logs replay too", async (t) => {
  // Real OPA serving the same policy as Rego, logging decisions to its console.
  const port = await freePort();
  const opa = spawn(toolPath('opa'), ['run', '--server', '--addr', `127.0.0.1:${port}`, '--set', 'decision_logs.console=true', '--log-format', 'json', join(REPLAY, 'current')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  opa.stdout.on('data', (d) => (out += d));
  opa.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => opa.once('exit', resolve));
  t.teardown(async () => {
    if (opa.exitCode === null) opa.kill('SIGTERM');
    await exited;
  });
  for (let i = 0; i < 400; i++) {
    if ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const input = (method: string, path: string, user?: string) => ({ attributes: { request: { http: { method, path, headers: user ? { 'x-user': user } : {} } } } });
  for (const i of [input('GET', '/api/reports/q1', 'bob'), input('GET', '/api/orders', 'bob'), input('POST', '/api/feedback')]) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/data/envoy/authz/allow`, { method: 'POST', body: JSON.stringify({ input: i }) });
    t.equal(res.status, 200);
  }
  for (let i = 0; i < 100 && (out.match(/"decision_id"/g) ?? []).length < 3; i++) await new Promise((r) => setTimeout(r, 50));
  const lines = out.split('\n').filter((l) => l.includes('"decision_id"'));
  t.equal(lines.length, 3, 'three decision-log lines');
  const file = join(dir, 'opa-decisions.log');
  writeFileSync(file, `${out}\n`); // OPA's other log lines are in it too: skipped as lines without an input
  const r = await iacdash(['replay', '--bundle', candidate, '--format', 'json', file]);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.equal(report.entries, 3);
  t.same(report.groups.map((g: { reason: string; count: number }) => [g.reason, g.count]).sort(), [['allow→deny', 1], ['deny→allow', 1]]);
  t.same(report.paths.map((p: { path: string }) => p.path), ['envoy/authz/allow']);
});

