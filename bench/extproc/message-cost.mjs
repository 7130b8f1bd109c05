// Per-message cost of a header-only Lua transform over ext_proc, measured end to end on
// loopback: a grpc-js client plays Envoy (request_headers then response_headers on one
// stream per request) against `iacdash serve`. Prints figures; asserts nothing.
// Usage: npm run build && node bench/extproc/message-cost.mjs [streams]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { envoyPackageDefinition } from '../../dist/server/protos.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STREAMS = Number(process.argv[2] ?? 3000);
const dir = mkdtempSync(join(tmpdir(), 'iacdash-extproc-bench-'));
writeFileSync(join(dir, 'hdr.lua'), 'function envoy_on_request(h) h:headers():add("x-added", "yes") end\nfunction envoy_on_response(h) h:headers():replace("x-resp", "1") end\n');
writeFileSync(join(dir, 'iacdash.yaml'), `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nextproc:\n  scripts: [{name: hdr, file: ${JSON.stringify(join(dir, 'hdr.lua'))}}]\n`);

const child = spawn(process.execPath, [...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.PROF] : []), join(ROOT, 'bin', 'iacdash.js'), 'serve', '--config', join(dir, 'iacdash.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const port = await new Promise((resolve, reject) => {
  child.stderr.on('data', (d) => {
    log += d;
    const line = log.split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) resolve(JSON.parse(line).grpc);
  });
  child.once('exit', () => reject(new Error(log)));
});

const Ctor = grpc.makeClientConstructor(envoyPackageDefinition()['envoy.service.ext_proc.v3.ExternalProcessor'], 'ExternalProcessor');
const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const header = (key, value) => ({ key, rawValue: Buffer.from(value) });
const requestHeaders = { requestHeaders: { headers: { headers: [header(':method', 'GET'), header(':path', '/api/x'), header(':authority', 'svc'), header('user-agent', 'bench')] }, endOfStream: true } };
const responseHeaders = { responseHeaders: { headers: { headers: [header(':status', '200'), header('content-type', 'text/plain')] }, endOfStream: true } };

/** One stream: two messages, two answers, like Envoy with headers-only processing. */
function oneStream() {
  return new Promise((resolve, reject) => {
    const call = client.Process();
    let answers = 0;
    call.on('data', () => {
      answers++;
      if (answers === 1) call.write(responseHeaders);
      else call.end();
    });
    call.on('error', reject);
    call.on('end', () => resolve(answers));
    call.write(requestHeaders);
  });
}

/** utime + stime of the server process, in seconds (USER_HZ is 100 on Linux). */
function serverCpu() {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

for (let i = 0; i < 300; i++) await oneStream(); // warm-up
const before = serverCpu();
const t0 = process.hrtime.bigint();
for (let i = 0; i < STREAMS; i++) await oneStream();
const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = serverCpu() - before;
const messages = STREAMS * 2;
console.log(`ext_proc header-only Lua transform, ${STREAMS} streams (${messages} messages), sequential, loopback`);
console.log(`  round trip per message: ${((elapsed / messages) * 1e6).toFixed(0)} µs (client + transport + iacdash)`);
console.log(`  iacdash CPU per message: ${((cpu / messages) * 1e6).toFixed(0)} µs`);
client.close();
child.kill('SIGTERM');
