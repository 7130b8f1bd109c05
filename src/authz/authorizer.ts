/**
 * The ext_authz decision, transport-neutral: decoded CheckRequest in,
 * CheckResponse (or a gRPC error) out. The grpc-js adapter and `iacdash
 * eval` both call it.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { PolicyStore } from '../policy/store.js';
import type { DecodeResult } from '../server/strict-decode.js';
import type { Logger } from '../telemetry/log.js';
import { ContractError, readDecision } from './decision.js';
import { checkRequestToInput, type CheckRequestObject, type InputOptions } from './input.js';
import { stringifyWithRaw } from '../json/raw-json.js';
import { decisionToResponse, errorToResponse, failOpenResponse, type CheckResponseObject } from './response.js';

/** What the adapter sends back. `code` is set whenever an error shaped the answer. */
export type CheckOutcome =
  | { readonly kind: 'response'; readonly response: CheckResponseObject; readonly code?: ErrorCode; readonly allowed: boolean }
  | { readonly kind: 'grpc-error'; readonly code: ErrorCode; readonly grpcStatus: number; readonly message: string };

const encoder = new TextEncoder();

/** OPA-Envoy accepts `envoy/authz/allow` and `envoy.authz.allow`; wasm entrypoints use slashes. */
export function entrypointOf(path: string): string {
  return path.replace(/^\/+|^data\./g, '').replaceAll('.', '/');
}

/** Decides Check requests against the store's active policy. */
export class Authorizer {
  private readonly inputOptions: InputOptions;

  constructor(
    private readonly store: PolicyStore,
    private readonly config: Pick<Config, 'authz' | 'limits'>,
    private readonly logger: Logger,
  ) {
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

  check(decoded: DecodeResult<CheckRequestObject>): CheckOutcome {
    const decisionId = randomUUID();
    if (!decoded.ok) {
      if (decoded.invalidUtf8) return this.refuse('request_invalid_utf8', decisionId, decoded.detail);
      this.logger.warn('check refused', { code: 'request_malformed', detail: decoded.detail, decision_id: decisionId });
      return { kind: 'grpc-error', code: 'request_malformed', grpcStatus: ERRORS.request_malformed.grpc, message: `request_malformed: ${decoded.detail}` };
    }
    const built = checkRequestToInput(decoded.value, this.inputOptions);
    if (!built.ok) return this.refuse(built.code, decisionId, built.detail);

    const engine = this.store.engine;
    if (!engine) return this.fail('bundle_not_loaded', decisionId, 'no bundle loaded yet');
    let resultSet: { result: unknown }[];
    try {
      resultSet = engine.evaluate(encoder.encode(stringifyWithRaw(built.input)).buffer as ArrayBuffer);
    } catch (err) {
      return this.fail('eval_error', decisionId, (err as Error).message);
    }
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

  /** Bad client input: always a denial, whatever the failure mode (as OPA-Envoy). */
  private refuse(code: ErrorCode, decisionId: string, detail: string): CheckOutcome {
    this.logger.info('check refused', { code, detail, decision_id: decisionId });
    return { kind: 'response', response: errorToResponse(code, decisionId, { clientDetail: detail }), code, allowed: false };
  }

  /** Our own failure: answered as `authz.failure_mode` says. */
  private fail(code: ErrorCode, decisionId: string, detail: string): CheckOutcome {
    const mode = this.config.authz.failure_mode;
    this.logger.warn('check failed', { code, detail, decision_id: decisionId, failure_mode: mode });
    if (mode === 'allow') return { kind: 'response', response: failOpenResponse(code, decisionId), code, allowed: true };
    if (mode === 'grpc-error') return { kind: 'grpc-error', code, grpcStatus: ERRORS[code].grpc, message: `${code}: ${detail}` };
    return { kind: 'response', response: errorToResponse(code, decisionId, { httpStatus: this.config.authz.failure_status }), code, allowed: false };
  }
}
