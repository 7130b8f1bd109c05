/** Runs `iacdash serve` as a real child process, the way users and Envoy see it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from './bundles.js';

/** A running sidecar process. */
export interface Sidecar {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly process: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts the sidecar with `yaml` as its config (ports are picked by the OS) and waits for /ready.
 * `server` adds keys to the `server` section (e.g. `tls`), which `yaml` must not hold; `env` adds variables (OTEL_*).
 */
export async function startSidecar(yaml: string, opts: { waitReady?: boolean; server?: Record<string, unknown>; env?: NodeJS.ProcessEnv } = {}): Promise<Sidecar> {
  const dir = tempDir('iacdash-sidecar-');
  const config = join(dir, 'iacdash.yaml');
  writeFileSync(config, `server: ${JSON.stringify({ addr: '127.0.0.1:0', http_addr: '127.0.0.1:0', ...opts.server })}\n${yaml}`);
  const child = spawn(process.execPath, [join(REPO, 'bin', 'iacdash.js'), 'serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 20_000;
  let ports: { grpc: number; http: number } | undefined;
  while (!ports) {
    const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) ports = JSON.parse(line) as { grpc: number; http: number };
    else if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sidecar did not start:\n${output}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  const sidecar: Sidecar = {
    grpcPort: ports.grpc,
    httpPort: ports.http,
    process: child,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  if (opts.waitReady !== false) {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${ports.http}/ready`).catch(() => undefined);
      if (res?.status === 200) break;
      if (Date.now() > deadline) {
        await sidecar.stop();
        throw new Error(`sidecar never became ready:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return sidecar;
}
