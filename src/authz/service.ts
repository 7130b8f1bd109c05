/**
 * Thin grpc-js adapter for envoy.service.auth.v3.Authorization/Check: our
 * strict decoder in, the Authorizer's outcome out. No decision logic here.
 */
import type * as grpc from '@grpc/grpc-js';
import { strictServiceDefinition, type DecodeResult } from '../server/strict-decode.js';
import type { Authorizer } from './authorizer.js';
import type { CheckRequestObject } from './input.js';

export const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';

/** Bytes as base64 and Struct numbers as Go prints them: the input OPA-Envoy builds. */
export const AUTHZ_DECODE = { bytes: 'base64', goFloats: true } as const;

/** The service definition with Check's request decoded strictly. */
export function authzServiceDefinition(): grpc.ServiceDefinition {
  return strictServiceDefinition(AUTHZ_SERVICE, 'Check', AUTHZ_DECODE);
}

/** Handlers bound to an authorizer. */
export function authzHandlers(authorizer: Authorizer): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<DecodeResult<CheckRequestObject>, unknown>, callback: grpc.sendUnaryData<unknown>): void {
      let outcome;
      try {
        outcome = authorizer.check(call.request);
      } catch (err) {
        // A bug of ours must not take the process down; Envoy's failure mode decides.
        callback({ code: 13 /* INTERNAL */, details: `internal error: ${(err as Error).message}` });
        return;
      }
      if (outcome.kind === 'grpc-error') callback({ code: outcome.grpcStatus, details: outcome.message });
      else callback(null, outcome.response);
    },
  };
}
