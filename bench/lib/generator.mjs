/**
 * Runs a load generator on the generator core and samples its own CPU use,
 * so a result can say when the generator, not the server, was the limit.
 */
import { spawn } from 'node:child_process';
import { cpuSeconds, liveChildren, pinned } from './proc.mjs';

/**
 * Runs `cmd args` to completion on `core`; resolves { code, stdout, stderr,
 * wallS, cpuS } where cpuS is the generator's CPU seconds (last /proc sample).
 */
export function runGenerator(core, cmd, args, { timeoutMs = 600_000 } = {}) {
  const [c, a] = pinned(core, cmd, args);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { proc: child };
    liveChildren.add(entry);
    let stdout = '';
    let stderr = '';
    let cpuS = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-16384)));
    const sample = () => {
      try {
        cpuS = cpuSeconds(child.pid);
      } catch {
        // gone already: keep the last sample
      }
    };
    const sampler = setInterval(sample, 200);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearInterval(sampler);
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      liveChildren.delete(entry);
      clearInterval(sampler);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, wallS: (performance.now() - started) / 1000, cpuS });
    });
  });
}
