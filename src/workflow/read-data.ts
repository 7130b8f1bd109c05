/**
 * Reads a fixture file (JSON or YAML). Every error names the file, and the
 * line and column when the parser gives a position.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';

/** A fixture file that cannot be read or parsed. */
export class FixtureError extends Error {
  override readonly name = 'FixtureError';
}

/** Extensions of data files a fixture folder may hold. */
export const DATA_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/** True for a .json, .yaml or .yml file. */
export function isDataFile(file: string): boolean {
  return (DATA_EXTENSIONS as readonly string[]).includes(extname(file).toLowerCase());
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    // V8 reports "… at position N" (Node 20) or "(line L column C)" (newer).
    const pos = /at position (\d+)/.exec(message);
    if (pos) {
      const { line, column } = lineColumn(text, Number(pos[1]));
      throw new FixtureError(`${label}:${line}:${column}: ${message}`);
    }
    const lc = /line (\d+) column (\d+)/.exec(message);
    throw new FixtureError(lc ? `${label}:${lc[1]}:${lc[2]}: ${message}` : `${label}: ${message}`);
  }
}

function parseYaml(text: string, label: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    // prettyErrors appends " at line L, column C:" and the source excerpt; we give the position up front.
    const message = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new FixtureError(at ? `${label}:${at.line}:${at.col}: ${message}` : `${label}: ${message}`);
  }
  return doc.toJS();
}

/**
 * Parses `text` as JSON (a .json name) or YAML (anything else). `label` is the
 * file as the user should see it.
 */
export function parseData(text: string, label: string): unknown {
  return extname(label).toLowerCase() === '.json' ? parseJson(text, label) : parseYaml(text, label);
}

/** Reads and parses a data file; `label` names it in errors (default: the path). */
export function readData(path: string, label = path): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FixtureError(`${label}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseData(text, label);
}

/** An object at the top level, or a FixtureError naming the file. */
export function expectObject(data: unknown, label: string): Record<string, unknown> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new FixtureError(`${label}: (top level): expected a mapping, got ${data === null ? 'null' : Array.isArray(data) ? 'a list' : typeof data}`);
  }
  return data as Record<string, unknown>;
}
