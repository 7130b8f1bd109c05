import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../src/tools/locate.js';

const run = promisify(execFile);

/** The installed AssemblyScript compiler (`node_modules/.bin/asc` points here). */
export const ASC = join(REPO_ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js');

/**
 * Flags for a proxy-wasm module: optimised, the never-freeing stub runtime,
 * and no `env.abort` import (Envoy provides none, so the VM would not start).
 */
export const PROXY_WASM_ASC_FLAGS: readonly string[] = ['-O', '--runtime', 'stub', '--use', 'abort=', '--noAssert'];

/** Options for {@link compileAssemblyScript}. */
export interface CompileOptions {
  /** Entry file, relative to the repo root or absolute. */
  entry: string;
  /** Output `.wasm`, relative to the repo root or absolute; put it under git-ignored `build/`. */
  outFile: string;
  /** asc flags; defaults to {@link PROXY_WASM_ASC_FLAGS}. */
  flags?: readonly string[];
}

/** Result of {@link compileAssemblyScript}. */
export interface CompiledWasm {
  /** Absolute path of the module. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** The command that was run, for reports and failure messages. */
  command: string;
}

/**
 * Compiles AssemblyScript with the installed asc. Writes to a temp name and
 * renames, so test files building the same module in parallel never load a
 * half-written file. Rejects with asc's output on compile errors.
 */
export async function compileAssemblyScript(options: CompileOptions): Promise<CompiledWasm> {
  const entry = resolve(REPO_ROOT, options.entry);
  const outFile = resolve(REPO_ROOT, options.outFile);
  const tmp = `${outFile}.${process.pid}.tmp`;
  const flags = options.flags ?? PROXY_WASM_ASC_FLAGS;
  const args = [entry, '-o', tmp, ...flags];
  const command = ['asc', options.entry, '-o', options.outFile, ...flags].join(' ');
  await mkdir(dirname(outFile), { recursive: true });
  try {
    await run(process.execPath, [ASC, ...args], { cwd: REPO_ROOT });
  } catch (err) {
    await rm(tmp, { force: true });
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} failed:\n${e.stderr || e.stdout || e.message}`);
  }
  await rename(tmp, outFile);
  const { size } = await stat(outFile);
  return { path: outFile, size, command };
}
