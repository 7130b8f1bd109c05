/**
 * Test helper: evaluates Rego expressions twice, with real OPA (`opa eval`,
 * the oracle) and with the same expressions compiled by `opa build -t wasm`
 * and run through opa-wasm with our host builtins, so a test can assert
 * that both agree. All expressions of one call share one policy file, one
 * `opa eval` and one `opa build`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import type { Test } from 'tap';
import { x as untar } from 'tar';
import { createHostBuiltins, type HostBuiltinOptions } from '../../../../src/policy/builtins/index.js';
import { toolPath } from '../../../../src/tools/locate.js';

const run = promisify(execFile);

/** What one evaluation gave. */
export type Outcome =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'undefined' }
  | { readonly kind: 'error'; readonly message: string };

/** Both evaluations of one expression. */
export interface Compared {
  readonly opa: Outcome;
  readonly wasm: Outcome;
}

/** Options of {@link evaluateBoth}. */
export interface OracleOptions {
  /** `input` for every expression. */
  readonly input?: unknown;
  /** Options for our builtins (error handling is the helper's). */
  readonly host?: Pick<HostBuiltinOptions, 'now'>;
}

const HEADER = ['package oracle', 'import rego.v1', ''];

interface OpaEvalOutput {
  result?: { expressions: { value: Record<string, unknown> }[] }[];
  errors?: { message: string; location?: { row: number } }[];
}

/**
 * Evaluates every `cases[name]` (a one-line Rego expression that may use
 * `input`) with `opa eval` (builtin errors collected, not fatal: OPA's
 * default, non-strict mode) and with the wasm build.
 */
export async function evaluateBoth(cases: Record<string, string>, options: OracleOptions = {}): Promise<Record<string, Compared>> {
  const names = Object.keys(cases);
  const rules = names.map((name, i) => {
    const expr = cases[name]!;
    if (expr.includes('\n')) throw new Error(`case ${name}: expressions must fit on one line`);
    return `r${i} := ${expr}`;
  });
  const dir = await mkdtemp(join(tmpdir(), 'iacdash-oracle-'));
  try {
    const policy = join(dir, 'oracle.rego');
    const inputFile = join(dir, 'input.json');
    await writeFile(policy, [...HEADER, ...rules, ''].join('\n'));
    await writeFile(inputFile, JSON.stringify(options.input ?? {}));
    const opa = toolPath('opa');
    const entrypoints = names.flatMap((_, i) => ['-e', `oracle/r${i}`]);
    const [evalRun] = await Promise.all([
      run(opa, ['eval', '--format', 'json', '--show-builtin-errors', '-d', policy, '-i', inputFile, 'data.oracle'], { maxBuffer: 64 << 20 }),
      run(opa, ['build', '-t', 'wasm', ...entrypoints, '-o', join(dir, 'bundle.tar.gz'), policy]),
    ]);
    const opaOutcomes = fromOpaEval(JSON.parse(evalRun.stdout) as OpaEvalOutput, names.length);
    await untar({ file: join(dir, 'bundle.tar.gz'), cwd: dir });
    const wasmOutcomes = await fromWasm(await readFile(join(dir, 'policy.wasm')), names.length, options);
    return Object.fromEntries(names.map((name, i) => [name, { opa: opaOutcomes[i]!, wasm: wasmOutcomes[i]! }]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fromOpaEval(out: OpaEvalOutput, count: number): Outcome[] {
  const values = out.result?.[0]?.expressions[0]?.value;
  if (!values) throw new Error(`opa eval failed: ${JSON.stringify(out.errors)}`);
  const errors = new Map<number, string>();
  for (const e of out.errors ?? []) {
    const rule = (e.location?.row ?? 0) - HEADER.length - 1;
    if (rule < 0 || rule >= count) throw new Error(`opa eval error outside the cases: ${e.message}`);
    errors.set(rule, e.message);
  }
  return Array.from({ length: count }, (_, i): Outcome => {
    const message = errors.get(i);
    if (message !== undefined) return { kind: 'error', message };
    return `r${i}` in values ? { kind: 'value', value: values[`r${i}`] } : { kind: 'undefined' };
  });
}

async function fromWasm(wasm: Buffer, count: number, options: OracleOptions): Promise<Outcome[]> {
  let errors: Error[] = [];
  const builtins = createHostBuiltins({ ...options.host, onError: (e) => errors.push(e) });
  const policy = await loadPolicy(wasm, undefined, builtins);
  return Array.from({ length: count }, (_, i): Outcome => {
    errors = [];
    let results: { result: unknown }[];
    try {
      results = policy.evaluate(options.input ?? {}, `oracle/r${i}`) as { result: unknown }[];
    } catch (err) {
      return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
    }
    if (errors.length > 0) return { kind: 'error', message: errors.map((e) => e.message).join('; ') };
    return results.length > 0 ? { kind: 'value', value: results[0]!.result } : { kind: 'undefined' };
  });
}

/**
 * Asserts that OPA and the wasm agree on every case: the same value, both
 * undefined, or both an error (messages may differ in wording). Returns the
 * comparisons for further checks.
 */
export function assertAgree(t: Test, results: Record<string, Compared>): Record<string, Compared> {
  for (const [name, { opa, wasm }] of Object.entries(results)) {
    if (opa.kind === 'error') {
      t.equal(wasm.kind, 'error', `${name}: OPA errors (${opa.message}); wasm gave ${JSON.stringify(wasm)}`);
    } else {
      t.strictSame(wasm, opa, `${name}: wasm agrees with opa eval`);
    }
  }
  return results;
}

/** The value OPA gave for a case, failing loudly if it gave none. */
export function opaValue(results: Record<string, Compared>, name: string): unknown {
  const r = results[name];
  if (r?.opa.kind !== 'value') throw new Error(`${name}: opa gave ${JSON.stringify(r?.opa)}`);
  return r.opa.value;
}
