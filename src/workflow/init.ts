/** `iacdash init DIR`: writes a policy project that passes `iacdash test` as it is. */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TEMPLATE } from './template.js';

/** DIR exists and is not an empty folder: init refuses rather than mix files. */
export class InitError extends Error {
  override readonly name = 'InitError';
}

/** Writes the template into `dir` (created if missing); returns the files written, relative to it. */
export function scaffold(dir: string): string[] {
  const root = resolve(dir);
  if (existsSync(root)) {
    if (!statSync(root).isDirectory()) throw new InitError(`${dir}: exists and is not a folder`);
    const entries = readdirSync(root);
    if (entries.length > 0) {
      throw new InitError(`${dir}: not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries.sort()[0]}); init writes only into a new or empty folder`);
    }
  }
  const written: string[] = [];
  for (const [rel, content] of Object.entries(TEMPLATE)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, { flag: 'wx' });
    written.push(rel);
  }
  return written;
}
