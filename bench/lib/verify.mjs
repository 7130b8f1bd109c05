/**
 * Correctness gates run before any load: each contender must answer every
 * request of the mix as the policy says, so no figure measures errors.
 */
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT, importDist } from './paths.mjs';

const require = createRequire(join(REPO_ROOT, 'package.json'));

/** The HTTP status a CheckResponse stands for (200 when allowed), or `grpc <code>` on a gRPC error. */
export async function checkOnce(port, bytes) {
  const grpc = require('@grpc/grpc-js');
  const { envoyProtoRoot } = await importDist('server/protos.js');
  const type = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckResponse');
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve) => {
      client.makeUnaryRequest('/envoy.service.auth.v3.Authorization/Check', (b) => b, (b) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => {
        if (err) return resolve(`grpc ${err.code}`);
        const r = type.toObject(type.decode(res), { enums: Number, defaults: false });
        const code = r.status?.code ?? 0;
        resolve(code === 0 ? 200 : (r.deniedResponse?.status?.code ?? 403));
      });
    });
  } finally {
    client.close();
  }
}

/** Throws unless every request of `mix` gets its expected status from the Check server on `port`. */
export async function verifyCheckMix(name, port, mix, { anyOk = false } = {}) {
  for (const r of mix) {
    const got = await checkOnce(port, r.bytes);
    const want = anyOk ? 200 : r.expect;
    if (got !== want) throw new Error(`${name}: "${r.name}" answered ${got}, expected ${want}`);
  }
}

/** One HTTP request; resolves the status (0 on a connection error). */
export function httpStatus(port, { method, path, headers, body }) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

/** One HTTP request; resolves `{ status, headers, body }` (status 0 on a connection error). */
export function httpExchange(port, { method, path, headers, body }) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', () => resolve({ status: 0, headers: {}, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

/** Parses JSON text, or undefined. */
export function jsonOrUndefined(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Throws unless every HTTP request of the mix gets its expected status through Envoy on `port`. */
export async function verifyHttpMix(name, port, mix, { allOk = false } = {}) {
  for (const r of mix) {
    const got = await httpStatus(port, r);
    const want = allOk ? 200 : r.expect;
    if (got !== want) throw new Error(`${name}: "${r.name}" answered HTTP ${got} through Envoy, expected ${want}`);
  }
}
