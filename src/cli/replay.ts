/**
 * `iacdash replay --bundle CANDIDATE.tar.gz DECISION_LOG...`: the thin CLI
 * over src/replay. Exit 0, or 1 when the flips exceed `--max-flips` /
 * `--threshold` (or the replay could not run), 2 for a usage error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { exceeds, parseThreshold, progressBar, replay, reportJson, reportTable, type Threshold } from '../replay/index.js';
import { UsageError } from './usage-error.js';

const OPTIONS = {
  bundle: { type: 'string', short: 'b' },
  config: { type: 'string', short: 'c' },
  path: { type: 'string' },
  format: { type: 'string', default: 'table' },
  'max-flips': { type: 'string' },
  threshold: { type: 'string' },
  examples: { type: 'string' },
} as const;

function thresholdOf(values: { 'max-flips'?: string | undefined; threshold?: string | undefined }): Threshold | undefined {
  if (values['max-flips'] !== undefined && values.threshold !== undefined) {
    throw new UsageError('replay: give --max-flips or --threshold, not both');
  }
  if (values['max-flips'] !== undefined) {
    const t = parseThreshold(values['max-flips']);
    if (!t || t.kind !== 'count') throw new UsageError(`replay: --max-flips must be a whole number, got ${JSON.stringify(values['max-flips'])}`);
    return t;
  }
  if (values.threshold !== undefined) {
    const t = parseThreshold(values.threshold);
    if (!t) throw new UsageError(`replay: --threshold must be a count (5) or a percentage (0.5%), got ${JSON.stringify(values.threshold)}`);
    return t;
  }
  return undefined;
}

/** `iacdash replay ARGS`; returns the exit code. */
export async function replayCli(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (!values.bundle) throw new UsageError('replay: --bundle CANDIDATE.tar.gz is required');
  if (positionals.length === 0) throw new UsageError('replay: give at least one DECISION_LOG file (or - for stdin)');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError(`replay: --format must be table or json, got ${JSON.stringify(values.format)}`);
  const threshold = thresholdOf(values);
  const examples = values.examples === undefined ? 3 : Number(values.examples);
  if (!Number.isInteger(examples) || examples < 0) throw new UsageError(`replay: --examples must be a whole number, got ${JSON.stringify(values.examples)}`);
  if (!existsSync(values.bundle)) throw new Error(`${values.bundle}: no such file (the candidate bundle)`);
  if (values.config !== undefined && !existsSync(values.config)) throw new Error(`${values.config}: no such file (the iacdash config)`);
  const config = loadConfig(values.config);
  const bar = progressBar();
  let result: Awaited<ReturnType<typeof replay>>;
  try {
    result = await replay({
      bundle: readFileSync(values.bundle),
      files: positionals,
      path: values.path,
      defaultPath: config.authz.path,
      maxMemoryBytes: config.limits.policy_memory_bytes,
      strictBuiltinErrors: config.authz.strict_builtin_errors,
      examplesPerGroup: examples,
      ...(bar ? { onProgress: bar.update } : {}),
    });
  } catch (err) {
    // The bundle's own errors do not say which file they are about.
    if ((err as Error).name === 'BundleError') throw new Error(`${values.bundle}: ${(err as Error).message}`);
    throw err;
  } finally {
    bar?.done();
  }
  const { report, revision } = result;
  const ctx = { bundle: values.bundle, revision, files: positionals, threshold };
  process.stdout.write(values.format === 'json' ? `${JSON.stringify(reportJson(report, ctx), null, 2)}\n` : reportTable(report, ctx));
  return threshold && exceeds(threshold, report.flips, report.entries) ? 1 : 0;
}
