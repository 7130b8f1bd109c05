/** One `iacdash test` run: discover each project, run every case, report as it goes. */
import { discover, type ProjectPlan } from './discover.js';
import { display } from './display.js';
import { humanCase, humanSummary, junitReport, summarize, summaryLine, TAP_HEADER, tapCase, tapEnd } from './report.js';
import { runLua, type ScriptCache } from './run-lua.js';
import { runRego } from './run-rego.js';
import { runRequests } from './run-request.js';
import { runWasm, type ModuleCache } from './run-wasm.js';
import type { CaseResult } from './types.js';

/** Output formats of `--reporter`. */
export const REPORTERS = ['human', 'tap', 'junit'] as const;
export type ReporterName = (typeof REPORTERS)[number];

/** Options of one run. */
export interface RunOptions {
  /** Project folders (default: the current folder). */
  paths: readonly string[];
  reporter: ReporterName;
  color: boolean;
  /** Where the report goes (stdout). */
  write: (text: string) => void;
  /** Where notes for people go when stdout carries a machine format (stderr). */
  note: (text: string) => void;
}

/** Discovers every project first, so a missing folder fails before anything runs. Throws DiscoveryError. */
export function plan(paths: readonly string[]): ProjectPlan[] {
  const seen = new Set<string>();
  const plans: ProjectPlan[] = [];
  for (const p of paths.length ? paths : ['.']) {
    const found = discover(p);
    if (seen.has(found.root)) continue;
    seen.add(found.root);
    plans.push(found);
  }
  return plans;
}

/** Runs every case of the projects; returns the results and the exit code (0 only when nothing failed or errored). */
export async function runTests(opts: RunOptions, plans: readonly ProjectPlan[] = plan(opts.paths)): Promise<{ results: CaseResult[]; code: number }> {
  const results: CaseResult[] = [];
  if (opts.reporter === 'tap') opts.write(TAP_HEADER);
  const emit = (r: CaseResult): void => {
    results.push(r);
    if (opts.reporter === 'human') opts.write(humanCase(r, opts.color));
    else if (opts.reporter === 'tap') opts.write(tapCase(r, results.length));
  };
  const modules: ModuleCache = new Map();
  const scripts: ScriptCache = new Map();
  for (const p of plans) {
    for (const problem of p.problems) {
      emit({ kind: problem.kind, file: display(problem.file), name: '', status: 'error', details: [{ kind: 'note', text: `${display(problem.file)}: ${problem.message}` }], durationMs: 0 });
    }
    if (p.hasRegoTests && p.regoRoot) runRego(p.regoRoot).forEach(emit);
    for (const c of p.lua) emit(runLua(c, scripts));
    for (const c of p.wasm) emit(await runWasm(c, modules));
    (await runRequests(p.requests, p.regoRoot, p.config)).forEach(emit);
  }
  const s = summarize(results);
  if (opts.reporter === 'human') opts.write(humanSummary(s, opts.color));
  else if (opts.reporter === 'tap') opts.write(tapEnd(results));
  else {
    opts.write(junitReport(results));
    opts.note(`${summaryLine(s)}\n`);
  }
  return { results, code: s.failed + s.errors > 0 ? 1 : 0 };
}
