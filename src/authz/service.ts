/**
 * Thin grpc-js adapter for envoy.service.auth.v3.Authorization/Check: our
 * strict decoder in, the Authorizer's outcome out. No decision logic here.
 */
import type * as grpc from '@grpc/grpc-js';
import { envoyPackageDefinition, envoyProtoRoot } from '../server/protos.js';
import { decodeStrict } from '../server/strict-decode.js';
import type { Authorizer } from './authorizer.js';
import type { CheckRequestObject } from './input.js';

export const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';

/** Bytes as base64 and Struct numbers as Go prints them: the input OPA-Envoy builds. */
export const AUTHZ_DECODE = { bytes: 'base64', goFloats: true } as const;

/** The service definition with Check's request decoded strictly. */
export function authzServiceDefinition(): grpc.ServiceDefinition {
  const def = envoyPackageDefinition()[AUTHZ_SERVICE] as unknown as grpc.ServiceDefinition;
  const type = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
  const check = def['Check']!;
  return { Check: { ...check, requestDeserialize: (buf: Buffer) => decodeStrict<CheckRequestObject>(type, buf, AUTHZ_DECODE) } };
}

/** Handlers bound to an authorizer. */
export function authzHandlers(authorizer: Authorizer): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>): void {
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
