/** Runs bin/iacdash.js as a user would: a subprocess in a folder, with no colour unless asked. */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from '../helpers/bundles.js';

export const BIN = join(REPO, 'bin', 'iacdash.js');
export const CLI_FIXTURES = join(import.meta.dirname, 'fixtures');

/** The environment without the colour switches the test runner may set. */
export function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!('FORCE_COLOR' in extra)) delete env['FORCE_COLOR'];
  if (!('NO_COLOR' in extra)) delete env['NO_COLOR'];
  return env;
}

/** One finished run. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `iacdash ARGS` in `cwd`. */
export function iacdash(cwd: string, args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: plainEnv(env) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `iacdash ARGS` at the repository root, asynchronous so independent runs overlap on a busy machine; `input` goes to stdin. */
export function iacdashAsync(args: string[], input?: Buffer): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(input);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `jobs` with at most three CLI processes at a time: enough overlap, without starving a shared machine. */
export async function inTurn<T>(jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return out;
}

/** The last non-empty line of some output. */
export function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

/** A fresh scaffolded project (`iacdash init`, once per test file, then copied). */
let base: string | undefined;
export function project(): string {
  if (base === undefined) {
    base = join(tempDir(), 'base');
    const init = iacdash(tempDir(), ['init', base]);
    if (init.code !== 0) throw new Error(`iacdash init failed: ${init.stderr}`);
  }
  const dir = join(tempDir(), 'project');
  cpSync(base, dir, { recursive: true });
  return dir;
}

/** The project with one failing case of each kind (fixtures/failing/). */
export function failingProject(): string {
  const dir = project();
  const failing = join(CLI_FIXTURES, 'failing');
  copyFileSync(join(failing, 'wrong_status_test.rego'), join(dir, 'policies', 'wrong_status_test.rego'));
  copyFileSync(join(failing, 'wrong-tenant.yaml'), join(dir, 'lua', 'fixtures', 'add-tenant', 'wrong-tenant.yaml'));
  copyFileSync(join(failing, 'wrong-status.json'), join(dir, 'filters', 'custom-auth', 'fixtures', 'wrong-status.json'));
  copyFileSync(join(failing, 'wrong-decision.yaml'), join(dir, 'requests', 'wrong-decision.yaml'));
  return dir;
}

/** The lines of one case in the human report: its status line and the indented lines below it. */
export function caseBlock(stdout: string, file: string): string {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.includes(file));
  if (start < 0) return '';
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('      ')) end++;
  return lines.slice(start, end).join('\n');
}
