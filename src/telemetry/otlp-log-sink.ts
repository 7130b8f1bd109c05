/**
 * Decision-log sink `otlp`: each entry becomes one OTLP log record, sent by
 * the OpenTelemetry logs SDK's OTLP exporter (endpoint, protocol, headers
 * and timeout from the OTEL_EXPORTER_OTLP_* variables). The body is the
 * entry's JSON line, exactly what the file sink writes (big numbers in
 * bodies stay verbatim, which an OTLP value map could not promise); the
 * record's trace and span ids are the Check's, so backends link the entry to
 * its trace.
 *
 * Each DecisionLogger batch is exported directly, at most EXPORT_BATCH
 * records per request, and `write` resolves when the collector has answered:
 * the logger's bounded queue is the only buffer, so a slow or failing
 * collector drops entries there and counts them, as with the other sinks.
 * The SDK is imported at the first write; an unused sink loads nothing.
 * https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */
import type { Logger } from '@opentelemetry/api-logs';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from '@opentelemetry/sdk-logs';
import { IacdashError } from '../errors.js';
import type { DecisionRecord, DecisionSink } from './decision-log.js';
import { DEFAULT_SERVICE_NAME } from './service-name.js';

/** Records per export request, as the SDK's batch processor default. */
export const EXPORT_BATCH = 512;

const PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const;

/** OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the SDK's default); anything else is a config error. */
export function protocolFromEnv(env: NodeJS.ProcessEnv = process.env): (typeof PROTOCOLS)[number] {
  const protocol = (env['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'])?.trim() || 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(protocol)) return protocol as (typeof PROTOCOLS)[number];
  throw new IacdashError('config_invalid', `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: expected grpc, http/protobuf or http/json, got ${JSON.stringify(protocol)}`);
}

/** The OTLP log exporter {@link protocolFromEnv} names; endpoint, headers and timeout are read by the exporter. */
export async function exporterFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<LogRecordExporter> {
  switch (protocolFromEnv(env)) {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-logs-otlp-grpc')).OTLPLogExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-logs-otlp-http')).OTLPLogExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-logs-otlp-proto')).OTLPLogExporter();
  }
}

/** Keeps what the logger emits, for one export. */
class Collect implements LogRecordProcessor {
  records: SdkLogRecord[] = [];
  onEmit(record: SdkLogRecord): void {
    this.records.push(record);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

interface Pipeline {
  readonly logger: Logger;
  readonly collect: Collect;
  readonly exporter: LogRecordExporter;
  readonly api: typeof import('@opentelemetry/api');
  shutdown(): Promise<void>;
}

async function pipeline(version: string, exporter: LogRecordExporter | undefined): Promise<Pipeline> {
  const [api, { LoggerProvider }, { defaultResource, detectResources, envDetector, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-logs'),
    import('@opentelemetry/resources'),
  ]);
  const collect = new Collect();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) override the default name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new LoggerProvider({ resource, processors: [collect] });
  const out = exporter ?? (await exporterFromEnv());
  return {
    logger: provider.getLogger('iacdash.decision_logs', version),
    collect,
    exporter: out,
    api,
    shutdown: async () => {
      await provider.shutdown();
      await out.shutdown();
    },
  };
}

/** Epoch ms → [s, ns], rounded to the µs as the entry's `timestamp` is, so both say the same time. */
function hrTimeOf(wallMs: number): [number, number] {
  const ms = Math.floor(wallMs);
  const micros = Math.min(999, Math.round((wallMs - ms) * 1000));
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000 + micros * 1000];
}

function exportOnce(exporter: LogRecordExporter, records: ReadableLogRecord[]): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(records, (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error('OTLP log export failed')))),
  );
}

/** Sends decision-log entries as OTLP log records. */
export class OtlpLogSink implements DecisionSink {
  private parts: Promise<Pipeline> | undefined;

  /** `exporter` replaces the one the environment names (tests); a bad protocol variable is refused here, at startup. */
  constructor(
    private readonly version: string,
    private readonly exporter?: LogRecordExporter,
  ) {
    if (!exporter) protocolFromEnv();
  }

  async write(lines: readonly string[], records: readonly DecisionRecord[]): Promise<void> {
    const p = await (this.parts ??= pipeline(this.version, this.exporter));
    const { api } = p;
    for (let from = 0; from < lines.length; from += EXPORT_BATCH) {
      p.collect.records = [];
      const to = Math.min(lines.length, from + EXPORT_BATCH);
      for (let i = from; i < to; i++) {
        const record = records[i]!;
        const line = lines[i]!;
        p.logger.emit({
          eventName: 'iacdash.decision',
          timestamp: hrTimeOf(record.wallMs),
          severityNumber: 9, // INFO
          severityText: 'INFO',
          body: line.endsWith('\n') ? line.slice(0, -1) : line,
          attributes: { 'iacdash.decision_id': record.decisionId, 'iacdash.policy.path': record.path },
          context: record.trace
            ? api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: record.trace.traceId, spanId: record.trace.spanId, traceFlags: record.trace.traceFlags ?? 0 })
            : api.ROOT_CONTEXT,
        });
      }
      await exportOnce(p.exporter, p.collect.records);
    }
  }

  async close(): Promise<void> {
    if (this.parts) await (await this.parts).shutdown();
  }
}
