/**
 * OpenTelemetry tracing: a SERVER span per Check and per ext_proc stream,
 * joined to the request's trace through the `traceparent` / B3 headers Envoy
 * forwards inside the messages (not the gRPC metadata: that carries Envoy's
 * own call, when Envoy traces at all). The SDK is `@opentelemetry/sdk-node`,
 * configured by the standard OTEL_* variables; this module is imported only
 * when `telemetry.tracing.enabled` is true, so tracing off loads nothing and
 * the hot path only tests one undefined field.
 * https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * https://opentelemetry.io/docs/specs/semconv/rpc/rpc-spans/
 */
import {
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { HeaderMapObject } from '../extproc/headers.js';
import { DEFAULT_SERVICE_NAME } from './service-name.js';

/** `{package}.{service}/{method}`, as the RPC conventions name server spans. */
export const CHECK_SPAN = 'envoy.service.auth.v3.Authorization/Check';
export const PROCESS_SPAN = 'envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** Attribute names: OpenTelemetry's where one fits, ours under `iacdash.`. */
export const ATTR = {
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  rpcGrpcStatus: 'rpc.grpc.status_code',
  errorType: 'error.type',
  decision: 'iacdash.decision',
  decisionId: 'iacdash.decision_id',
  policyPath: 'iacdash.policy.path',
  bundleRevision: 'iacdash.bundle.revision',
  scriptName: 'iacdash.script.name',
  /** Not `http.response.status_code`: these spans are RPCs; this is the status Envoy answers the client with. */
  httpStatus: 'iacdash.http.status_code',
  outcome: 'iacdash.extproc.outcome',
  messages: 'iacdash.extproc.messages',
} as const;

const CHECK_START: Attributes = { [ATTR.rpcSystem]: 'grpc', [ATTR.rpcService]: 'envoy.service.auth.v3.Authorization', [ATTR.rpcMethod]: 'Check' };
const PROCESS_START: Attributes = { [ATTR.rpcSystem]: 'grpc', [ATTR.rpcService]: 'envoy.service.ext_proc.v3.ExternalProcessor', [ATTR.rpcMethod]: 'Process' };

type HeaderEntries = NonNullable<HeaderMapObject['headers']>;

/** A CheckRequest's `attributes.request.http.headers`: lower-case names, one string each. */
const recordGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** An ext_proc HeaderMap: values in `raw_value` bytes (or `value`). */
const headerMapGetter: TextMapGetter<HeaderEntries> = {
  keys: (carrier) => carrier.map((h) => h.key ?? ''),
  get: (carrier, key) => {
    for (const h of carrier) if (h.key === key) return h.rawValue ? h.rawValue.toString('latin1') : h.value;
    return undefined;
  },
};

/** What the authorizer knows once a Check is answered. */
export interface CheckSpanEnd {
  readonly grpcStatus: number;
  readonly decisionId: string;
  readonly path: string;
  /** Absent when no decision was reached (a refused request, a failed evaluation under grpc-error). */
  readonly allowed?: boolean | undefined;
  readonly revision?: string | undefined;
  readonly code?: ErrorCode | undefined;
  /** The status of a denial or local reply; absent when the request goes on upstream. */
  readonly httpStatus?: number | undefined;
}

/** What an ext_proc stream knows when it ends. */
export interface StreamSpanEnd {
  readonly script?: string | undefined;
  /** The first error code of the stream. */
  readonly code?: string | undefined;
  /** The status of an immediate response, when one was sent. */
  readonly httpStatus?: number | undefined;
  readonly messages: number;
}

/** A server-side error of ours (a 5xx class), as opposed to a refused client request. */
function isServerError(code: string | undefined): boolean {
  return code !== undefined && ((ERRORS as Record<string, { http: number }>)[code]?.http ?? 500) >= 500;
}

/** Starts and ends the spans; the hot path holds one of these only when tracing is on. */
export class Tracing {
  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: Pick<TextMapPropagator, 'extract'>,
    private readonly stop: () => Promise<void> = async () => undefined,
  ) {}

  /** A span for one Check, child of the context in the request's headers. */
  startCheck(headers: Readonly<Record<string, string>> | undefined): Span {
    const parent = headers ? this.propagator.extract(ROOT_CONTEXT, headers, recordGetter) : ROOT_CONTEXT;
    return this.tracer.startSpan(CHECK_SPAN, { kind: SpanKind.SERVER, attributes: CHECK_START }, parent);
  }

  /** The span's trace and span ids (hex) and flags, for the decision log; undefined when the context is invalid. */
  ids(span: Span): SpanContext | undefined {
    const ctx = span.spanContext();
    return isSpanContextValid(ctx) ? ctx : undefined;
  }

  /** Ends a Check span with the decision. */
  endCheck(span: Span, end: CheckSpanEnd): void {
    if (span.isRecording()) {
      span.setAttribute(ATTR.rpcGrpcStatus, end.grpcStatus);
      span.setAttribute(ATTR.decisionId, end.decisionId);
      span.setAttribute(ATTR.policyPath, end.path);
      if (end.allowed !== undefined) span.setAttribute(ATTR.decision, end.allowed ? 'allowed' : 'denied');
      if (end.revision !== undefined) span.setAttribute(ATTR.bundleRevision, end.revision);
      if (end.httpStatus !== undefined) span.setAttribute(ATTR.httpStatus, end.httpStatus);
      if (end.code !== undefined) {
        span.setAttribute(ATTR.errorType, end.code);
        if (isServerError(end.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: end.code });
      }
    }
    span.end();
  }

  /** Ends a span whose handler threw (answered INTERNAL). */
  endWithException(span: Span, err: unknown): void {
    if (span.isRecording()) {
      const error = err instanceof Error ? err : new Error(String(err));
      span.recordException(error);
      span.setAttribute(ATTR.errorType, error.name);
      span.setAttribute(ATTR.rpcGrpcStatus, 13);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    span.end();
  }

  /** A span for one ext_proc stream, child of the context in its request headers (when the first message has them). */
  startStream(headers: HeaderMapObject | undefined): Span {
    const entries = headers?.headers;
    const parent = entries ? this.propagator.extract(ROOT_CONTEXT, entries, headerMapGetter) : ROOT_CONTEXT;
    return this.tracer.startSpan(PROCESS_SPAN, { kind: SpanKind.SERVER, attributes: PROCESS_START }, parent);
  }

  /** One message of the stream: an event named after its phase, at the time it arrived (epoch ms). */
  phase(span: Span, phase: string, outcome: string, atMs: number): void {
    if (span.isRecording()) span.addEvent(phase, { [ATTR.outcome]: outcome }, atMs);
  }

  /** Ends a stream span. */
  endStream(span: Span, end: StreamSpanEnd): void {
    if (span.isRecording()) {
      span.setAttribute(ATTR.rpcGrpcStatus, 0);
      span.setAttribute(ATTR.messages, end.messages);
      if (end.script) span.setAttribute(ATTR.scriptName, end.script);
      if (end.httpStatus !== undefined) span.setAttribute(ATTR.httpStatus, end.httpStatus);
      if (end.code !== undefined) {
        span.setAttribute(ATTR.errorType, end.code);
        if (isServerError(end.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: end.code });
      }
    }
    span.end();
  }

  /** Flushes and stops the SDK this instance started. */
  shutdown(): Promise<void> {
    return this.stop();
  }
}

/** Test and embedding hooks of {@link startTracing}. */
export interface StartTracingOptions {
  /** Replace the exporters OTEL_TRACES_EXPORTER would build (tests: an in-memory exporter). */
  readonly spanProcessors?: NodeSDKConfiguration['spanProcessors'];
}

/** Why tracing stays off although the config turns it on, or undefined. */
export function tracingOffByEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (/^\s*true\s*$/i.test(env['OTEL_SDK_DISABLED'] ?? '')) return 'OTEL_SDK_DISABLED=true';
  if (/(^|,)\s*none\s*(,|$)/.test(env['OTEL_TRACES_EXPORTER'] ?? '')) return 'OTEL_TRACES_EXPORTER=none';
  return undefined;
}

/**
 * Starts the Node SDK for traces only: exporter, endpoint, sampler,
 * propagators and resource come from OTEL_*. Metrics have /metrics and
 * decision logs their own sink, so the SDK's metric and log pipelines are
 * not started (OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER are not read).
 */
export async function startTracing(version: string, opts: StartTracingOptions = {}): Promise<Tracing> {
  const [{ NodeSDK }, { defaultResource, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/resources'),
  ]);
  const sdk = new NodeSDK({
    // Detected attributes (env, process, host) merge over this, so OTEL_SERVICE_NAME wins.
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME })),
    metricReaders: [],
    logRecordProcessors: [],
    ...(opts.spanProcessors ? { spanProcessors: opts.spanProcessors } : {}),
  });
  sdk.start();
  return new Tracing(trace.getTracer('iacdash', version), propagation, () => sdk.shutdown());
}
