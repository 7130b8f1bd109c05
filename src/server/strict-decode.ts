/**
 * Protobuf decoding that refuses invalid UTF-8 in string fields. protobufjs
 * alone would silently substitute U+FFFD, so a policy could see a different
 * header than Envoy forwarded. The decoder never throws: grpc-js would turn a
 * throw into an opaque INTERNAL error, and we want a defined answer instead.
 */
import { isUtf8 } from 'node:buffer';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { envoyPackageDefinition, envoyProtoRoot } from './protos.js';
import { protomap, type ProtomapOptions } from './protomap.js';

/** Thrown inside the reader; caught by {@link decodeStrict}. */
class InvalidUtf8 extends Error {}

class StrictBufferReader extends protobuf.BufferReader {
  override string(): string {
    const len = this.uint32();
    const start = this.pos;
    const end = start + len;
    if (end > this.len) throw new RangeError(`index out of range: ${end} > ${this.len}`);
    const bytes = (this.buf as Buffer).subarray(start, end);
    if (!isUtf8(bytes)) throw new InvalidUtf8(`invalid UTF-8 in a string field at byte ${start}`);
    this.pos = end;
    return bytes.toString('utf8');
  }
}

/** Outcome of a strict decode: the plain object, or why it failed. */
export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly invalidUtf8: boolean; readonly detail: string };

/** Decodes `buf` as `type` into a plain object shaped by {@link protomap}. */
export function decodeStrict<T>(type: protobuf.Type, buf: Buffer, opts: ProtomapOptions): DecodeResult<T> {
  try {
    const message = type.decode(new StrictBufferReader(buf));
    return { ok: true, value: protomap(type, message, opts) as T };
  } catch (err) {
    return { ok: false, invalidUtf8: err instanceof InvalidUtf8, detail: (err as Error).message };
  }
}

/**
 * A grpc-js service definition for one method of an Envoy service, with its
 * requests decoded by {@link decodeStrict} (the handler gets a DecodeResult).
 */
export function strictServiceDefinition(service: string, method: string, opts: ProtomapOptions): grpc.ServiceDefinition {
  const def = envoyPackageDefinition()[service] as unknown as grpc.ServiceDefinition;
  const type = envoyProtoRoot().lookupService(service).methods[method]!.resolvedRequestType!;
  return { [method]: { ...def[method]!, requestDeserialize: (buf: Buffer) => decodeStrict(type, buf, opts) } };
}
