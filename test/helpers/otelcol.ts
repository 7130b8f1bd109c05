/**
 * A real OpenTelemetry Collector (built by `npm run tools`: the OTLP receiver
 * and contrib's file exporter) on loopback ports, writing what it receives to
 * JSON-lines files that the tests read back, flattened.
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/exporter/fileexporter
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { toolPath } from '../../src/tools/locate.js';
import { freePorts } from '../e2e/harness/ports.js';
import { tempDir } from './bundles.js';

/** An OTLP attribute value in its JSON encoding. */
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: { key: string; value: AnyValue }[] };
}

/** A span as the file exporter wrote it, attributes flattened to plain values. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 2 is SERVER. */
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, unknown> }[];
  status: { code?: number; message?: string };
  resource: Record<string, unknown>;
  scope: { name?: string; version?: string };
}

/** A log record as the file exporter wrote it. */
export interface CollectedLog {
  traceId: string;
  spanId: string;
  timeUnixNano: string;
  severityNumber?: number;
  severityText?: string;
  eventName?: string;
  body: unknown;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  scope: { name?: string; version?: string };
}

/** A running collector. */
export interface Collector {
  /** `http://127.0.0.1:PORT`: OTEL_EXPORTER_OTLP_ENDPOINT for http/protobuf and http/json. */
  readonly httpEndpoint: string;
  /** `http://127.0.0.1:PORT`: the endpoint for OTEL_EXPORTER_OTLP_PROTOCOL=grpc. */
  readonly grpcEndpoint: string;
  spans(): CollectedSpan[];
  logs(): CollectedLog[];
  /** Polls the files until `ready` holds for what was read (the file exporter flushes every 100 ms). */
  waitFor<T>(read: () => T, ready: (value: T) => boolean, timeoutMs?: number): Promise<T>;
  output(): string;
  stop(): Promise<void>;
}

/** AnyValue → a plain value (ints as numbers when they fit, as the SDK sent them). */
export function plain(value: AnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  if (value.kvlistValue) return attributes(value.kvlistValue.values);
  return undefined;
}

function attributes(list: { key: string; value: AnyValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));
}

function lines(file: string): any[] {
  if (!existsSync(file)) return [];
  // The last line may be half written while the exporter flushes.
  return readFileSync(file, 'utf8').split('\n').flatMap((l) => {
    try {
      return l ? [JSON.parse(l)] : [];
    } catch {
      return [];
    }
  });
}

/** Starts the collector and waits until both receivers listen. */
export async function startCollector(): Promise<Collector> {
  const dir = tempDir('iacdash-otelcol-');
  const [grpcPort, httpPort] = await freePorts(2);
  const tracesFile = join(dir, 'traces.jsonl');
  const logsFile = join(dir, 'logs.jsonl');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:${grpcPort}"}
      http: {endpoint: "127.0.0.1:${httpPort}"}
exporters:
  file/traces: {path: ${JSON.stringify(tracesFile)}, flush_interval: 100ms}
  file/logs: {path: ${JSON.stringify(logsFile)}, flush_interval: 100ms}
service:
  telemetry:
    metrics: {level: none}
    logs: {level: info}
  pipelines:
    traces: {receivers: [otlp], exporters: [file/traces]}
    logs: {receivers: [otlp], exporters: [file/logs]}
`,
  );
  const child: ChildProcess = spawn(toolPath('otelcol'), ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 30_000;
  while (!output.includes('Everything is ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the collector did not start:\n${output}`);
    }
    await delay(50);
  }

  const collector: Collector = {
    httpEndpoint: `http://127.0.0.1:${httpPort}`,
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    spans: () =>
      lines(tracesFile).flatMap((req) =>
        (req.resourceSpans ?? []).flatMap((rs: any) =>
          (rs.scopeSpans ?? []).flatMap((ss: any) =>
            (ss.spans ?? []).map((s: any): CollectedSpan => ({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              attributes: attributes(s.attributes),
              events: (s.events ?? []).map((e: any) => ({ name: e.name, timeUnixNano: e.timeUnixNano, attributes: attributes(e.attributes) })),
              status: s.status ?? {},
              resource: attributes(rs.resource?.attributes),
              scope: ss.scope ?? {},
            })),
          ),
        ),
      ),
    logs: () =>
      lines(logsFile).flatMap((req) =>
        (req.resourceLogs ?? []).flatMap((rl: any) =>
          (rl.scopeLogs ?? []).flatMap((sl: any) =>
            (sl.logRecords ?? []).map((r: any): CollectedLog => ({
              traceId: r.traceId ?? '',
              spanId: r.spanId ?? '',
              timeUnixNano: r.timeUnixNano,
              severityNumber: r.severityNumber,
              severityText: r.severityText,
              eventName: r.eventName,
              body: plain(r.body),
              attributes: attributes(r.attributes),
              resource: attributes(rl.resource?.attributes),
              scope: sl.scope ?? {},
            })),
          ),
        ),
      ),
    waitFor: async (read, ready, timeoutMs = 20_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const value = read();
        if (ready(value)) return value;
        if (Date.now() > until) throw new Error(`timed out waiting for the collector's files; last read: ${JSON.stringify(value).slice(0, 2000)}\n${output}`);
        await delay(50);
      }
    },
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  return collector;
}
