/**
 * The ext_authz decision, transport-neutral: decoded CheckRequest in,
 * CheckResponse (or a gRPC error) out. The grpc-js adapter and `iacdash
 * eval` both call it.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { PolicyStore } from '../policy/store.js';
import type { DecodeResult } from '../server/strict-decode.js';
import type { DecisionLogger } from '../telemetry/decision-log.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { CheckSpanEnd, Tracing } from '../telemetry/tracing.js';
import { DecisionCache } from './decision-cache.js';
import { ContractError, readDecision } from './decision.js';
import { checkRequestToInput, type CheckRequestObject, type InputOptions } from './input.js';
import { prune } from '../json/prune.js';
import { stringifyWithRaw } from '../json/raw-json.js';
import { decisionToResponse, errorToResponse, failOpenResponse, type CheckResponseObject } from './response.js';

/** What the adapter sends back. `code` is set whenever an error shaped the answer. */
export type CheckOutcome =
  | { readonly kind: 'response'; readonly response: CheckResponseObject; readonly code?: ErrorCode; readonly allowed: boolean }
  | { readonly kind: 'grpc-error'; readonly code: ErrorCode; readonly grpcStatus: number; readonly message: string };


/** OPA-Envoy accepts `envoy/authz/allow` and `envoy.authz.allow`; wasm entrypoints use slashes. */
export function entrypointOf(path: string): string {
  return path.replace(/^\/+|^data\./g, '').replaceAll('.', '/');
}

/** Where a Check reports; each part left out costs nothing. */
export interface AuthzTelemetry {
  readonly metrics?: Metrics | undefined;
  readonly decisionLog?: DecisionLogger | undefined;
  /** A span per Check, child of the trace in the request's headers. */
  readonly tracing?: Tracing | undefined;
}

/** Envoy's answer to a denial without an `http_status`: 403. */
const DEFAULT_DENY_STATUS = 403;

/** Decides Check requests against the store's active policy. */
export class Authorizer {
  private readonly inputOptions: InputOptions;
  // What the last check() saw, for telemetry. check() is synchronous, so one
  // set of fields serves every request without a per-request object.
  private lastId = '';
  private lastInput: unknown = undefined;
  private lastResult: unknown = undefined;
  private lastRevision: string | undefined = undefined;
  private lastError: { code: ErrorCode; message: string } | undefined = undefined;
  private lastEvalMs = -1;
  private readonly logPath: string;
  /** Metrics or decision logs are on: time the evaluation. */
  private readonly observed: boolean;
  /** The engine the cache was decided for, and its cache (undefined: off for that engine). */
  private cacheEngine: PolicyEngine | undefined;
  private cache: DecisionCache | undefined;

  constructor(
    private readonly store: PolicyStore,
    private readonly config: Pick<Config, 'authz' | 'limits'>,
    private readonly logger: Logger,
    private readonly telemetry: AuthzTelemetry = {},
  ) {
    this.logPath = entrypointOf(config.authz.path);
    this.observed = telemetry.metrics !== undefined || telemetry.decisionLog !== undefined || telemetry.tracing !== undefined;
    this.inputOptions = {
      skipBodyParse: config.authz.skip_request_body_parse,
      maxHeaderBytes: config.limits.max_header_bytes,
      maxBodyBytes: config.limits.max_body_bytes,
      maxJsonDepth: config.limits.max_json_depth,
    };
  }

  /** Builds the input document alone (for `iacdash eval --explain-input`). */
  input(request: CheckRequestObject): ReturnType<typeof checkRequestToInput> {
    return checkRequestToInput(request, this.inputOptions);
  }

  /** Decides one Check; metrics, the decision log and tracing see it when configured. */
  check(decoded: DecodeResult<CheckRequestObject>): CheckOutcome {
    if (!this.observed) return this.decide(decoded);
    const { metrics, decisionLog, tracing } = this.telemetry;
    const start = performance.now();
    const span = tracing?.startCheck(decoded.ok ? decoded.value.attributes?.request?.http?.headers : undefined);
    this.lastInput = undefined;
    this.lastResult = undefined;
    this.lastRevision = undefined;
    this.lastError = undefined;
    this.lastEvalMs = -1;
    let outcome: CheckOutcome;
    try {
      outcome = this.decide(decoded);
    } catch (err) {
      if (span) tracing!.endWithException(span, err);
      throw err;
    }
    const elapsedMs = performance.now() - start;
    if (metrics) {
      metrics.check(outcome.code, outcome.kind === 'response' && outcome.allowed, elapsedMs / 1000, this.lastEvalMs < 0 ? -1 : this.lastEvalMs / 1000);
    }
    const trace = span ? tracing!.ids(span) : undefined;
    if (span) tracing!.endCheck(span, this.spanEnd(outcome));
    // Only decisions with an input are logged: a request that could not be decoded has nothing to replay.
    if (decisionLog && this.lastInput !== undefined) {
      decisionLog.log({
        decisionId: this.lastId,
        path: this.logPath,
        input: this.lastInput,
        result: this.lastResult,
        error: this.lastError,
        revision: this.lastRevision,
        wallMs: performance.timeOrigin + start,
        evalNs: this.lastEvalMs < 0 ? undefined : Math.round(this.lastEvalMs * 1e6),
        handlerNs: Math.round(elapsedMs * 1e6),
        trace,
      });
    }
    return outcome;
  }

  /** What the span records: the decision (or the failure mode's answer), where it came from, and what Envoy answers. */
  private spanEnd(outcome: CheckOutcome): CheckSpanEnd {
    const base = { decisionId: this.lastId, path: this.logPath, revision: this.lastRevision, code: outcome.code };
    if (outcome.kind === 'grpc-error') return { ...base, grpcStatus: outcome.grpcStatus };
    // Under dry_run a denial is answered OK: the request goes on, no status.
    const denied = outcome.response.status.code !== 0;
    return { ...base, grpcStatus: 0, allowed: outcome.allowed, httpStatus: denied ? (outcome.response.deniedResponse?.status?.code ?? DEFAULT_DENY_STATUS) : undefined };
  }

  private decide(decoded: DecodeResult<CheckRequestObject>): CheckOutcome {
    const decisionId = randomUUID();
    this.lastId = decisionId;
    if (!decoded.ok) {
      if (decoded.invalidUtf8) return this.refuse('request_invalid_utf8', decisionId, decoded.detail);
      this.logger.warn('check refused', { code: 'request_malformed', detail: decoded.detail, decision_id: decisionId });
      return { kind: 'grpc-error', code: 'request_malformed', grpcStatus: ERRORS.request_malformed.grpc, message: `request_malformed: ${decoded.detail}` };
    }
    const built = checkRequestToInput(decoded.value, this.inputOptions);
    if (!built.ok) return this.refuse(built.code, decisionId, built.detail);
    this.lastInput = built.input;

    const engine = this.store.engine;
    if (!engine) return this.fail('bundle_not_loaded', decisionId, 'no bundle loaded yet');
    this.lastRevision = engine.revision;
    let resultSet: { result: unknown }[];
    const evalStart = this.observed ? performance.now() : 0;
    try {
      // The decision log keeps the whole input: a candidate bundle in replay may read more.
      const tree = this.config.authz.prune_input ? engine.inputTree : undefined;
      const inputJson = stringifyWithRaw(tree ? prune(built.input, tree) : built.input);
      resultSet = tree ? this.evaluateCached(engine, inputJson) : engine.evaluate(inputJson);
    } catch (err) {
      return this.fail('eval_error', decisionId, (err as Error).message);
    } finally {
      if (this.observed) this.lastEvalMs = performance.now() - evalStart;
    }
    if (resultSet.length === 1) this.lastResult = resultSet[0]!.result;
    if (resultSet.length === 0) return this.fail('undefined_decision', decisionId, `${engine.entrypoint} is undefined`);
    if (resultSet.length > 1) return this.fail('eval_error', decisionId, 'multiple evaluation results');

    let response: CheckResponseObject;
    let allowed: boolean;
    try {
      const decision = readDecision(resultSet[0]!.result);
      allowed = decision.allowed;
      response = decisionToResponse(decision, decisionId, this.config.authz.dry_run);
    } catch (err) {
      if (err instanceof ContractError) return this.fail('result_invalid', decisionId, err.message);
      throw err;
    }
    if (this.logger.enabled('debug')) {
      this.logger.debug('decision', {
        decision_id: decisionId,
        path: engine.entrypoint,
        revision: engine.revision,
        result: resultSet[0]!.result,
        dry_run: this.config.authz.dry_run,
        headers: this.logger.maskHeaders(decoded.value.attributes?.request?.http?.headers),
      });
    }
    return { kind: 'response', response, allowed };
  }

  /** Evaluates a pruned input, through the decision cache when the engine allows one. */
  private evaluateCached(engine: PolicyEngine, inputJson: string): { result: unknown }[] {
    if (engine !== this.cacheEngine) this.cacheFor(engine);
    const cache = this.cache;
    if (cache === undefined) return engine.evaluate(inputJson);
    const hit = cache.get(inputJson);
    if (hit !== undefined) {
      this.telemetry.metrics?.decisionCache(true, cache.size);
      return hit;
    }
    const resultSet = engine.evaluate(inputJson);
    if (cache.set(inputJson, resultSet)) this.telemetry.metrics?.decisionCache(false, cache.size);
    return resultSet;
  }

  /** A new engine (bundle) gets an empty cache, or none when its policy may answer one input differently. */
  private cacheFor(engine: PolicyEngine): void {
    this.cacheEngine = engine;
    const size = this.config.authz.decision_cache_size;
    const uncacheable = engine.nondeterministicBuiltins;
    this.cache = size > 0 && uncacheable.length === 0 ? new DecisionCache(size) : undefined;
    if (size > 0 && uncacheable.length > 0) {
      this.logger.info('decision cache off for this bundle', { revision: engine.revision, reason: `the policy calls ${uncacheable.join(', ')} (non-deterministic)` });
    }
  }

  /** Bad client input: always a denial, whatever the failure mode (as OPA-Envoy). */
  private refuse(code: ErrorCode, decisionId: string, detail: string): CheckOutcome {
    this.logger.info('check refused', { code, detail, decision_id: decisionId });
    return { kind: 'response', response: errorToResponse(code, decisionId, { clientDetail: detail }), code, allowed: false };
  }

  /** Our own failure: answered as `authz.failure_mode` says. */
  private fail(code: ErrorCode, decisionId: string, detail: string): CheckOutcome {
    const mode = this.config.authz.failure_mode;
    this.logger.warn('check failed', { code, detail, decision_id: decisionId, failure_mode: mode });
    this.telemetry.metrics?.failureMode('authz', mode);
    if (this.telemetry.decisionLog) this.lastError = { code, message: `${ERRORS[code].message}: ${detail}` };
    if (mode === 'allow') return { kind: 'response', response: failOpenResponse(code, decisionId), code, allowed: true };
    if (mode === 'grpc-error') return { kind: 'grpc-error', code, grpcStatus: ERRORS[code].grpc, message: `${code}: ${detail}` };
    return { kind: 'response', response: errorToResponse(code, decisionId, { httpStatus: this.config.authz.failure_status }), code, allowed: false };
  }
}
