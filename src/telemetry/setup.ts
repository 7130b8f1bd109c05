/** Builds the metrics and the decision logger the config asks for. */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { DecisionLogger, RotatingFileSink, StdoutSink, type DecisionSink } from './decision-log.js';
import { Metrics } from './metrics.js';

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
}

/** Creates the telemetry parts; `sink` replaces the configured decision-log sink (tests). */
export function createTelemetry(config: Pick<Config, 'telemetry' | 'decision_logs'>, opts: { sink?: DecisionSink } = {}): Telemetry {
  const metrics = config.telemetry.metrics.enabled ? new Metrics({ defaultMetrics: config.telemetry.metrics.process_metrics }) : undefined;
  const dl = config.decision_logs;
  let decisionLog: DecisionLogger | undefined;
  if (dl.enabled) {
    const sink = opts.sink ?? (dl.sink === 'file' ? new RotatingFileSink(dl.file!, dl.max_file_bytes, dl.max_files) : new StdoutSink());
    decisionLog = new DecisionLogger({
      sink,
      queueSize: dl.queue_size,
      masks: dl.mask,
      bundleName: dl.bundle_name,
      version: iacdashVersion(),
      ...(metrics ? { onDropped: (n: number) => metrics.logsDroppedInc(n), onWritten: (n: number) => metrics.logsWrittenInc(n) } : {}),
    });
  }
  return { metrics, decisionLog };
}
