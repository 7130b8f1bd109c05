/** `iacdash eval`: one CheckRequest against a bundle, without Envoy. */
import { readFileSync } from 'node:fs';
import { Authorizer, type CheckRequestObject } from '../authz/index.js';
import { structToJson } from '../authz/input.js';
import type { Config } from '../config/schema.js';
import { IacdashError } from '../errors.js';
import { envoyProtoRoot } from '../server/protos.js';
import { decodeStrict } from '../server/strict-decode.js';
import { createPolicyStore } from '../server/server.js';
import { Logger } from '../telemetry/log.js';

/**
 * Reads a CheckRequest in protojson form (as Envoy's docs and our examples
 * write it) and runs it through the same decoder the server uses.
 */
export function readCheckRequest(file: string): ReturnType<typeof decodeStrict<CheckRequestObject>> {
  const type = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IacdashError('request_malformed', `${file}: ${(err as Error).message}`);
  }
  const problem = type.verify(json as Record<string, unknown>);
  if (problem) throw new IacdashError('request_malformed', `${file}: ${problem}`);
  const bytes = type.encode(type.fromObject(json as Record<string, unknown>)).finish();
  return decodeStrict<CheckRequestObject>(type, Buffer.from(bytes));
}

/** Evaluates and returns what to print: the response, and the input when asked. */
export async function evalCommand(config: Config, requestFile: string, explainInput: boolean): Promise<Record<string, unknown>> {
  const store = createPolicyStore(config);
  let loadError: unknown;
  store.on('load_error', ({ error }) => (loadError = error));
  await store.reload();
  if (!store.engine) throw new IacdashError('bundle_load_error', `${config.bundle.path}: ${(loadError as Error)?.message}`);
  const authorizer = new Authorizer(store, config, new Logger('warn', config.log.mask_headers));
  const out: Record<string, unknown> = {};
  if (explainInput) {
    const again = readCheckRequest(requestFile);
    const built = again.ok ? authorizer.input(again.value) : undefined;
    out['input'] = built?.ok ? built.input : { error: built ? `${built.code}: ${built.detail}` : again.ok ? '' : again.detail };
  }
  const outcome = authorizer.check(readCheckRequest(requestFile));
  if (outcome.kind === 'grpc-error') {
    out['grpc_error'] = { code: outcome.grpcStatus, message: outcome.message };
  } else {
    const { dynamicMetadata, ...rest } = outcome.response;
    out['response'] = dynamicMetadata ? { ...rest, dynamicMetadata: structToJson(dynamicMetadata as unknown as Record<string, unknown>) } : rest;
  }
  return out;
}
