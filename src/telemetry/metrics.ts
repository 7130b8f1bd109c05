/**
 * Prometheus metrics, served at GET /metrics on the HTTP port.
 * prom-client rather than OpenTelemetry's Prometheus exporter: it is the
 * standard, well-kept Node client, writes the text format directly with no
 * SDK pipeline in between, and its pre-bound label children make the hot
 * path a Map lookup and an add.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CODES, type ErrorCode } from '../errors.js';

/** Buckets in seconds, from 10 µs: a decision usually takes tens to hundreds of µs. */
export const LATENCY_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Request outcomes besides the error codes. */
export const AUTHZ_OUTCOMES = ['allowed', 'denied'] as const;
/** `ok`: answered normally (the script ran or no script matched); `responded`: the script called handle:respond(). */
export const EXTPROC_OUTCOMES = ['ok', 'responded'] as const;

type Inc = { inc(value?: number): void };

/** Builds a Map of pre-bound counter children, one per label value, each series created at 0 so it exists from the start. */
function bound(values: readonly string[], make: (value: string) => Inc): Map<string, Inc> {
  return new Map(values.map((v) => {
    const child = make(v);
    child.inc(0);
    return [v, child];
  }));
}

/** The process's metrics, in their own registry (tests start several servers in one process). */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'service' | 'outcome'>;
  private readonly authzOutcome: Map<string, Inc>;
  private readonly extprocOutcome: Map<string, Inc>;
  private readonly evalSeconds: Histogram;
  private readonly checkSeconds: Histogram;
  private readonly extprocSeconds: Histogram;
  private readonly bundleLoads: Map<string, Inc>;
  private readonly scriptLoads: Counter<'script' | 'result'>;
  private readonly bundleInfo: Gauge<'revision'>;
  private readonly luaErrors: Counter<'code'>;
  private readonly luaErrorsByCode: Map<string, Inc>;
  private readonly failureModes: Map<string, Inc>;
  private readonly logsDropped: Inc;
  private readonly logsWritten: Inc;
  private readonly cacheHits: Inc;
  private readonly cacheMisses: Inc;
  private readonly cacheEntries: Gauge;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'iacdash_requests_total',
      help: 'Requests answered, by service (authz: Check calls; extproc: ProcessingRequest messages) and outcome (allowed, denied, ok, responded or an error code).',
      labelNames: ['service', 'outcome'],
      registers,
    });
    const codes: readonly string[] = ERROR_CODES;
    this.authzOutcome = bound([...AUTHZ_OUTCOMES, ...codes], (o) => this.requests.labels('authz', o));
    this.extprocOutcome = bound([...EXTPROC_OUTCOMES, ...codes], (o) => this.requests.labels('extproc', o));
    this.evalSeconds = new Histogram({
      name: 'iacdash_decision_evaluation_duration_seconds',
      help: 'Time the policy took to evaluate one Check (the wasm call alone).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.checkSeconds = new Histogram({
      name: 'iacdash_check_duration_seconds',
      help: 'Time one Check took from the decoded request to the response: input building, evaluation and the response.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.extprocSeconds = new Histogram({
      name: 'iacdash_extproc_message_duration_seconds',
      help: 'Time one ext_proc message took to answer, Lua included.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const bundleLoads = new Counter({
      name: 'iacdash_bundle_loads_total',
      help: 'Policy bundle loads, by result (success or failure); a refused bundle leaves the previous one serving.',
      labelNames: ['result'],
      registers,
    });
    this.bundleLoads = bound(['success', 'failure'], (r) => bundleLoads.labels(r));
    this.scriptLoads = new Counter({
      name: 'iacdash_script_loads_total',
      help: 'Lua script loads, by script name and result (success or failure).',
      labelNames: ['script', 'result'],
      registers,
    });
    this.bundleInfo = new Gauge({
      name: 'iacdash_bundle_info',
      help: 'The active policy bundle: always 1, its revision in the label.',
      labelNames: ['revision'],
      registers,
    });
    this.luaErrors = new Counter({
      name: 'iacdash_lua_errors_total',
      help: 'Lua script failures at run time, by error code (lua_budget_exceeded is a budget overrun).',
      labelNames: ['code'],
      registers,
    });
    this.luaErrorsByCode = bound(codes.filter((c) => c.startsWith('lua_')), (c) => this.luaErrors.labels(c));
    const failureModes = new Counter({
      name: 'iacdash_failure_mode_activations_total',
      help: 'Requests answered by the configured failure mode instead of a decision or transform, by service and mode.',
      labelNames: ['service', 'mode'],
      registers,
    });
    this.failureModes = bound(
      ['authz/deny', 'authz/allow', 'authz/grpc-error', 'extproc/respond', 'extproc/continue'],
      (key) => failureModes.labels(...(key.split('/') as [string, string])),
    );
    this.logsDropped = new Counter({
      name: 'iacdash_decision_logs_dropped_total',
      help: 'Decision log entries dropped because the queue was full (the sink is slow) or the sink failed.',
      registers,
    });
    this.logsWritten = new Counter({
      name: 'iacdash_decision_logs_written_total',
      help: 'Decision log entries handed to the sink.',
      registers,
    });
    this.cacheHits = new Counter({
      name: 'iacdash_decision_cache_hits_total',
      help: 'Checks answered from the decision cache (authz.decision_cache_size) without evaluating the policy.',
      registers,
    });
    this.cacheMisses = new Counter({
      name: 'iacdash_decision_cache_misses_total',
      help: 'Checks the decision cache could have answered but did not hold; the policy ran. Checks under a policy the cache is off for count in neither.',
      registers,
    });
    this.cacheEntries = new Gauge({
      name: 'iacdash_decision_cache_entries',
      help: 'Decisions the cache holds for the active bundle.',
      registers,
    });
    for (const c of [this.logsDropped, this.logsWritten, this.cacheHits, this.cacheMisses] as unknown as Counter[]) c.inc(0);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** One Check: its outcome (an error code when one shaped the answer), total and evaluation time in seconds (evaluation < 0 when the policy did not run). */
  check(code: ErrorCode | undefined, allowed: boolean, seconds: number, evalSeconds: number): void {
    (code ? this.authzOutcome.get(code) : this.authzOutcome.get(allowed ? 'allowed' : 'denied'))?.inc();
    this.checkSeconds.observe(seconds);
    if (evalSeconds >= 0) this.evalSeconds.observe(evalSeconds);
  }

  /** One ext_proc message. */
  extprocMessage(outcome: string, seconds: number): void {
    (this.extprocOutcome.get(outcome) ?? this.requests.labels('extproc', outcome)).inc();
    this.extprocSeconds.observe(seconds);
  }

  /** A Lua failure at run time; other codes (protocol errors) only count as request outcomes. */
  luaError(code: string): void {
    this.luaErrorsByCode.get(code)?.inc();
  }

  /** The failure mode answered instead of a decision or a transform. */
  failureMode(service: 'authz' | 'extproc', mode: string): void {
    this.failureModes.get(`${service}/${mode}`)?.inc();
  }

  /** A bundle load: on success the info gauge moves to the new revision. */
  bundleLoaded(ok: boolean, revision?: string): void {
    this.bundleLoads.get(ok ? 'success' : 'failure')!.inc();
    if (ok) {
      this.bundleInfo.reset();
      this.bundleInfo.labels(revision ?? '').set(1);
    }
  }

  /** A script load. */
  scriptLoaded(script: string, ok: boolean): void {
    this.scriptLoads.labels(script, ok ? 'success' : 'failure').inc();
  }

  /** A decision cache lookup, and how many entries the cache holds after it. */
  decisionCache(hit: boolean, entries: number): void {
    (hit ? this.cacheHits : this.cacheMisses).inc();
    if (!hit) this.cacheEntries.set(entries);
  }

  /** Decision-log entries dropped. */
  logsDroppedInc(n = 1): void {
    this.logsDropped.inc(n);
  }

  /** Decision-log entries written. */
  logsWrittenInc(n = 1): void {
    this.logsWritten.inc(n);
  }

  /** The exposition text and its content type. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
