/** An ext_proc client for telemetry tests: one stream, messages sent one at a time, each answer awaited. */
import * as grpc from '@grpc/grpc-js';
import { envoyPackageDefinition, envoyProtoRoot } from '../../../src/server/protos.js';

const METHOD = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** `key: value` pairs as an ext_proc HeaderMap (values in raw_value, as Envoy sends them). */
export function headerMap(headers: Record<string, string>): { headers: { key: string; rawValue: Buffer }[] } {
  return { headers: Object.entries(headers).map(([key, value]) => ({ key, rawValue: Buffer.from(value) })) };
}

/**
 * Sends `messages` on one Process stream, each after the previous answer,
 * stopping at an immediate response; then half-closes, as Envoy does, and
 * waits for the server to end the stream.
 */
export async function exchange(port: number, messages: readonly (object | Buffer)[]): Promise<any[]> {
  const raw = messages.some((m) => Buffer.isBuffer(m));
  const ProcessingRequest = envoyProtoRoot().lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const ProcessingResponse = envoyProtoRoot().lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  const Ctor = grpc.makeClientConstructor(
    envoyPackageDefinition()['envoy.service.ext_proc.v3.ExternalProcessor'] as unknown as grpc.ServiceDefinition,
    'ExternalProcessor',
  );
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  // Raw mode writes the bytes as they are (malformed-message tests); objects are encoded from their object form.
  const call: grpc.ClientDuplexStream<any, any> = raw
    ? client.makeBidiStreamRequest(
        METHOD,
        (m: object | Buffer) => (Buffer.isBuffer(m) ? m : Buffer.from(ProcessingRequest.encode(ProcessingRequest.fromObject(m)).finish())),
        (b: Buffer) => ProcessingResponse.toObject(ProcessingResponse.decode(b), { longs: Number, enums: Number }),
      )
    : client['Process']();
  const answers: any[] = [];
  let waiting: ((r: any) => void) | undefined;
  call.on('data', (r: any) => {
    answers.push(r);
    waiting?.(r);
  });
  const ended = new Promise<void>((resolve, reject) => {
    call.on('end', () => resolve());
    call.on('error', reject);
  });
  try {
    for (const message of messages) {
      const answered = new Promise<any>((resolve) => (waiting = resolve));
      call.write(message);
      const answer = await answered;
      if (answer.immediateResponse) break;
    }
    call.end();
    await ended;
    return answers;
  } finally {
    client.close();
  }
}
