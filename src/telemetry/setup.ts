/** Builds the metrics, the decision logger and the tracing the config asks for. */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { DecisionLogger, RotatingFileSink, StdoutSink, type DecisionSink } from './decision-log.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { OtlpLogSink } from './otlp-log-sink.js';
import type { Tracing } from './tracing.js';

/** The package version, for decision-log labels (src/ and dist/ both sit one level below the package root). */
export function iacdashVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What the server wires in; a part the config turns off is undefined. */
export interface Telemetry {
  readonly metrics: Metrics | undefined;
  readonly decisionLog: DecisionLogger | undefined;
  readonly tracing: Tracing | undefined;
  /** Flushes and stops what was created here (a `tracing` passed in stays with its owner). */
  close(): Promise<void>;
}

/** Replacements for the configured parts (tests). */
export interface TelemetryOptions {
  readonly sink?: DecisionSink | undefined;
  readonly tracing?: Tracing | undefined;
}

/**
 * Starts tracing when the config turns it on and OTEL_SDK_DISABLED /
 * OTEL_TRACES_EXPORTER=none do not turn it off. The SDK is imported only
 * then: tracing off loads none of it.
 */
export async function createTracing(config: Pick<Config, 'telemetry'>, logger: Logger): Promise<Tracing | undefined> {
  if (!config.telemetry.tracing.enabled) return undefined;
  const { startTracing, tracingOffByEnv } = await import('./tracing.js');
  const off = tracingOffByEnv();
  if (off) {
    logger.info('tracing off', { reason: off });
    return undefined;
  }
  return startTracing(iacdashVersion());
}

/** Creates the telemetry parts. */
export async function createTelemetry(config: Pick<Config, 'telemetry' | 'decision_logs'>, logger: Logger, opts: TelemetryOptions = {}): Promise<Telemetry> {
  const metrics = config.telemetry.metrics.enabled ? new Metrics({ defaultMetrics: config.telemetry.metrics.process_metrics }) : undefined;
  const dl = config.decision_logs;
  let decisionLog: DecisionLogger | undefined;
  if (dl.enabled) {
    const sink = opts.sink ?? (dl.sink === 'file' ? new RotatingFileSink(dl.file!, dl.max_file_bytes, dl.max_files) : dl.sink === 'otlp' ? new OtlpLogSink(iacdashVersion()) : new StdoutSink());
    decisionLog = new DecisionLogger({
      sink,
      queueSize: dl.queue_size,
      masks: dl.mask,
      bundleName: dl.bundle_name,
      version: iacdashVersion(),
      ...(metrics ? { onDropped: (n: number) => metrics.logsDroppedInc(n), onWritten: (n: number) => metrics.logsWrittenInc(n) } : {}),
    });
  }
  const ownTracing = opts.tracing ? undefined : await createTracing(config, logger);
  const tracing = opts.tracing ?? ownTracing;
  return {
    metrics,
    decisionLog,
    tracing,
    close: async () => {
      await decisionLog?.close();
      await ownTracing?.shutdown();
    },
  };
}
