/**
 * The two servers of the differential test: real opa-envoy-plugin and
 * iacdash (through its CLI, as a user runs it), on free loopback ports, and
 * one grpc-js ext_authz client that sends the same CheckRequest bytes to
 * either and returns the decoded CheckResponse or the gRPC error.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { envoyPackageDefinition } from '../../src/server/protos.js';
import { REPO_ROOT, toolPath } from '../../src/tools/locate.js';

/** What a peer answered: a CheckResponse (proto-loader object form) or a gRPC error. */
export type PeerResult =
  | { readonly status: 'response'; readonly response: CheckResponse }
  | { readonly status: 'grpc-error'; readonly response: { readonly code: number; readonly details: string } };

/** Decoded CheckResponse (lowerCamelCase, enums and longs as numbers, unset fields absent). */
export interface CheckResponse {
  status?: { code?: number; message?: string };
  okResponse?: Record<string, any>;
  deniedResponse?: { status?: { code?: number }; headers?: any[]; body?: string };
  dynamicMetadata?: { fields?: Record<string, any> };
}

/** A running server under test. */
export interface Peer {
  readonly name: string;
  readonly grpcPort: number;
  check(bytes: Buffer): Promise<PeerResult>;
  /** Everything the process printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const START_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 20_000;

function listenEphemeral(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

/** `count` distinct free ports on 127.0.0.1 (held together while chosen, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listenEphemeral()));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitFor(what: string, url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it was ready:\n${output()}`);
    if ((await httpStatus(url)) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} was not ready at ${url} within ${START_TIMEOUT_MS} ms:\n${output()}`);
}

/** Keeps the last 64 KiB a child printed. */
function capture(child: ChildProcess): () => string {
  let text = '';
  const add = (chunk: Buffer): void => {
    text = (text + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A grpc-js client from proto-loader's Envoy definitions; the request goes out as given bytes. */
function checkClient(port: number): { check(bytes: Buffer): Promise<PeerResult>; close(): void } {
  const method = (envoyPackageDefinition()['envoy.service.auth.v3.Authorization'] as Record<string, any>)['Check'];
  const deserialize = method.responseDeserialize as (b: Buffer) => CheckResponse;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
  return {
    check: (bytes) =>
      new Promise((resolve) => {
        client.makeUnaryRequest(
          CHECK,
          // Raw bytes: the same request reaches both servers, even bytes no encoder would produce.
          (b: Buffer) => b,
          deserialize,
          bytes,
          new grpc.Metadata(),
          { deadline: Date.now() + CALL_TIMEOUT_MS },
          (error, response) => {
            if (error) resolve({ status: 'grpc-error', response: { code: error.code, details: error.details } });
            else resolve({ status: 'response', response: response as CheckResponse });
          },
        );
      }),
    close: () => client.close(),
  };
}

function peerOf(name: string, grpcPort: number, child: ChildProcess, output: () => string, cleanup: () => void): Peer {
  const client = checkClient(grpcPort);
  return {
    name,
    grpcPort,
    check: (bytes) => client.check(bytes),
    output,
    stop: async () => {
      client.close();
      await stopChild(child);
      cleanup();
    },
  };
}

/**
 * Starts opa-envoy-plugin on `policyDir` (Rego and data.json, loaded as
 * OPA loads a directory); ready when `/health?plugins` answers 200.
 */
export async function startOpaEnvoy(policyDir: string, path = 'envoy/authz/allow'): Promise<Peer> {
  const [http, diag, grpcPort] = (await freePorts(3)) as [number, number, number];
  const child = spawn(
    toolPath('opa-envoy-plugin'),
    [
      'run', '--server', '--log-level', 'error',
      '--addr', `127.0.0.1:${http}`,
      '--diagnostic-addr', `127.0.0.1:${diag}`,
      '--set', `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${grpcPort}`,
      '--set', `plugins.envoy_ext_authz_grpc.path=${path}`,
      '--set', 'decision_logs.console=false',
      policyDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = capture(child);
  try {
    await waitFor('opa-envoy-plugin', `http://127.0.0.1:${http}/health?plugins`, child, output);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return peerOf('opa-envoy-plugin', grpcPort, child, output, () => undefined);
}

const IACDASH = join(REPO_ROOT, 'bin', 'iacdash.js');

/** `iacdash build DIR -o OUT` (real `opa build -t wasm`); returns the bundle path in a temp folder. */
export function buildIacdashBundle(policyDir: string, dir: string): string {
  const out = join(dir, 'bundle.tar.gz');
  const r = spawnSync(process.execPath, [IACDASH, 'build', policyDir, '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`iacdash build failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return out;
}

/**
 * Starts `iacdash serve` on a bundle, with `configYaml` as its config file
 * (none when undefined: all defaults); ready when `/ready` answers 200.
 */
export async function startIacdash(name: string, bundle: string, configYaml?: string): Promise<Peer> {
  const [grpcPort, http] = (await freePorts(2)) as [number, number];
  const dir = mkdtempSync(join(tmpdir(), 'iacdash-diff-'));
  const args = [IACDASH, 'serve', '--bundle', bundle, '--addr', `127.0.0.1:${grpcPort}`, '--http-addr', `127.0.0.1:${http}`];
  if (configYaml !== undefined) {
    const file = join(dir, 'iacdash.yaml');
    writeFileSync(file, configYaml);
    args.push('--config', file);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = capture(child);
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await waitFor(`iacdash (${name})`, `http://127.0.0.1:${http}/ready`, child, output);
  } catch (err) {
    await stopChild(child);
    cleanup();
    throw err;
  }
  return peerOf(name, grpcPort, child, output, cleanup);
}
