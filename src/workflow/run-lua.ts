/**
 * Lua fixtures (the format of src/lua/fixtures.ts) against `lua/<script>.lua`.
 * Each run compiles the script afresh so `--watch` sees edits.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { LuaScript, runFixture } from '../lua/index.js';
import { display } from './display.js';
import { expectObject, readData } from './read-data.js';
import { detailOf, type CaseResult } from './types.js';
import type { LuaCase } from './discover.js';

/**
 * A generous default time budget: a fixture checks behaviour, and a cold VM
 * on a busy machine is slow. A fixture's own `limits` still win.
 */
const TEST_LIMITS = { maxMillis: 20_000 };

function noteLines(message: string): CaseResult['details'] {
  return message.split('\n').map((text) => ({ kind: 'note' as const, text }));
}

/** Compiled scripts of one run, by path and limits: compiled once per run, afresh on the next. */
export type ScriptCache = Map<string, LuaScript>;

/** Runs one Lua fixture; a broken fixture or script is an error case. */
export function runLua(c: LuaCase, cache: ScriptCache = new Map()): CaseResult {
  const file = display(c.fixture);
  const start = performance.now();
  const done = (status: CaseResult['status'], details: CaseResult['details'], name = ''): CaseResult => ({
    kind: 'lua',
    file,
    name,
    status,
    details,
    durationMs: performance.now() - start,
  });
  let name = '';
  try {
    // Parse first: syntax errors then carry the file and line.
    const data = expectObject(readData(c.fixture, file), file);
    name = typeof data['description'] === 'string' ? data['description'] : '';
    if (!existsSync(c.script)) {
      return done('error', [{ kind: 'note', text: `${display(c.script)}: no such script (the fixture folder lua/fixtures/${basename(c.script, '.lua')}/ tests it)` }], name);
    }
    const limits = data['limits'] !== null && typeof data['limits'] === 'object' ? (data['limits'] as Record<string, number>) : {};
    const key = `${c.script}\0${JSON.stringify(limits)}`;
    let script = cache.get(key);
    if (script === undefined) {
      script = LuaScript.compile(readFileSync(c.script), display(c.script), { ...TEST_LIMITS, ...limits });
      cache.set(key, script);
    }
    // runFixture validates the fixture against its schema; errors name `file: key`.
    const r = runFixture(script, c.fixture);
    return r.pass ? done('pass', [], name) : done('fail', r.diff.map(detailOf), name);
  } catch (err) {
    return done('error', noteLines((err as Error).message.replaceAll(c.fixture, file)), name);
  }
}
