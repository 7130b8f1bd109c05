/**
 * Policy authors' local workflow: `iacdash test` (discover and run Rego,
 * Lua, wasm and request-level tests of a project) and `iacdash init`.
 */
export { discover, DiscoveryError, type ProjectPlan, type LuaCase, type WasmCase, type Problem } from './discover.js';
export { plan, runTests, REPORTERS, type ReporterName, type RunOptions } from './run.js';
export { summarize, summaryLine, wantsColor, humanCase, tapCase, tapEnd, junitReport, type Summary } from './report.js';
export { watchFolders, type StopWatching } from './watch.js';
export { scaffold, InitError } from './init.js';
export { parseRequestFixture, answerOf, compareAnswer, type RequestFixture, type Answer } from './request-fixture.js';
export { readData, parseData, FixtureError } from './read-data.js';
export type { CaseKind, CaseResult, CaseStatus, DetailLine } from './types.js';
