/** Reading the files `iacdash eval` is given: errors name the file (and the line, for syntax). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';

/** Throws `FILE: no such file` (or `FILE: is a directory`) unless `file` is a readable file. */
export function requireFile(file: string, what: string): void {
  if (!existsSync(file)) throw new Error(`${file}: no such file (${what})`);
  if (statSync(file).isDirectory()) throw new Error(`${file}: is a directory, expected a file (${what})`);
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/**
 * Parses a data file: JSON for `.json`, YAML for anything else (YAML is a
 * JSON superset). A syntax error reads `FILE:LINE:COLUMN: not JSON: …`.
 */
export function readDataFile(file: string, what: string): unknown {
  requireFile(file, what);
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      const message = (err as Error).message;
      const at = /at position (\d+)/.exec(message);
      if (!at) throw new Error(`${file}: not JSON: ${message}`);
      const { line, column } = lineColumn(text, Number(at[1]));
      throw new Error(`${file}:${line}:${column}: not JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
    }
  }
  try {
    return parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError && err.linePos) {
      const { line, col } = err.linePos[0];
      throw new Error(`${file}:${line}:${col}: not YAML: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    throw new Error(`${file}: not YAML: ${(err as Error).message}`);
  }
}

/** Bytes as text when they are valid UTF-8, else `{ base64 }`: readable output that loses nothing. */
export function showBytes(bytes: Uint8Array): string | { base64: string } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? text : { base64: buf.toString('base64') };
}

/** Ordered header pairs as an object for reading: a repeated name gets its values as a list, in order. */
export function headerObject(list: ReadonlyArray<readonly [string, string | Uint8Array]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of list) {
    const v = typeof raw === 'string' ? raw : showBytes(raw);
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
