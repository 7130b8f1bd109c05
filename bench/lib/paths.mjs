/** Where things are: the repository root, the built iacdash, the pinned tools. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/ sits directly in it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_DIR = join(REPO_ROOT, 'bench');
export const IACDASH_BIN = join(REPO_ROOT, 'bin', 'iacdash.js');
export const POLICIES_DIR = join(REPO_ROOT, 'policies');

/** The root's compiled output; the bench uses iacdash as a user runs it, so it must be built. */
export async function importDist(rel) {
  const file = join(REPO_ROOT, 'dist', rel);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` at the repository root first`);
  return import(file);
}
