/**
 * Replay: recorded decisions (OPA decision-log lines) re-evaluated against a
 * candidate bundle, reporting the decisions that would flip.
 */
export { memberSpan, parseLogLine, requestSummary, type LogEntry, type ParsedLine } from './log-entry.js';
export { candidateOutcome, compareOutcomes, describe, recordedOutcome, type Flip, type Outcome } from './outcome.js';
export { progressBar, progressLine } from './progress.js';
export { replay, type ReplayOptions, type ReplayProgress } from './replay.js';
export {
  describeThreshold,
  exceeds,
  parseThreshold,
  ReplayReport,
  reportJson,
  reportTable,
  type FlipExample,
  type FlipGroup,
  type ReportContext,
  type Threshold,
} from './report.js';
