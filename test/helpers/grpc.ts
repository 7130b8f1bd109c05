/** A grpc-js ext_authz client for tests, built from the same Envoy protos. */
import * as grpc from '@grpc/grpc-js';
import { envoyPackageDefinition, envoyProtoRoot } from '../../src/server/protos.js';

export type CheckResult = { error: grpc.ServiceError | null; response: any };

/** Client for envoy.service.auth.v3.Authorization on 127.0.0.1:port. */
export function authzClient(port: number): grpc.Client & Record<string, any> {
  const Ctor = grpc.makeClientConstructor(
    envoyPackageDefinition()['envoy.service.auth.v3.Authorization'] as unknown as grpc.ServiceDefinition,
    'Authorization',
  );
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  }) as grpc.Client & Record<string, any>;
}

/** Sends a CheckRequest (object form) and resolves with the error or the response. */
export function check(client: grpc.Client & Record<string, any>, request: object): Promise<CheckResult> {
  return new Promise((resolve) => client['Check'](request, (error: grpc.ServiceError | null, response: any) => resolve({ error, response })));
}

/** Sends raw bytes as the CheckRequest body, for malformed-input tests. */
export function checkRaw(client: grpc.Client, bytes: Buffer): Promise<CheckResult> {
  const CheckResponse = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckResponse');
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      '/envoy.service.auth.v3.Authorization/Check',
      (b: Buffer) => b,
      (b: Buffer) => CheckResponse.toObject(CheckResponse.decode(b), { longs: Number, enums: Number }),
      bytes,
      (error, response) => resolve({ error, response }),
    ),
  );
}

/** Encodes a CheckRequest object to wire bytes. */
export function encodeCheckRequest(request: object): Buffer {
  const CheckRequest = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
  return Buffer.from(CheckRequest.encode(CheckRequest.fromObject(request)).finish());
}

/** grpc.health.v1 Check for a service name. */
export async function healthStatus(port: number, service = ''): Promise<string> {
  const { default: protoLoader } = await import('@grpc/proto-loader');
  const { protoPath } = await import('grpc-health-check');
  const def = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const Ctor = grpc.makeClientConstructor(def['grpc.health.v1.Health'] as unknown as grpc.ServiceDefinition, 'Health');
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  try {
    return await new Promise((resolve, reject) =>
      client['Check']({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
    );
  } finally {
    client.close();
  }
}
