/**
 * Protojson (as Envoy's docs and `grpcurl` write CheckRequests) → protobufjs
 * object form, so the corpus can be written in the canonical JSON mapping:
 * Timestamp as an RFC 3339 string, Struct/Value/ListValue as plain JSON,
 * Any as `{"@type": …, …fields}`. Everything else (lowerCamelCase names,
 * int64 as strings, bytes as base64, enum names) protobufjs's `fromObject`
 * already reads.
 */
import protobuf from 'protobufjs';
import { envoyProtoRoot } from '../../src/server/protos.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function timestamp(text: string): { seconds: string; nanos: number } {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) throw new Error(`protojson: bad Timestamp ${JSON.stringify(text)} (want RFC 3339 in UTC, e.g. 2024-01-02T03:04:05.123Z)`);
  const ms = Date.parse(`${m[1]}Z`);
  const nanos = Number((m[2] ?? '').padEnd(9, '0'));
  return { seconds: String(Math.floor(ms / 1000)), nanos };
}

function value(v: Json): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
  return { structValue: struct(v) };
}

function struct(obj: { [k: string]: Json }): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = value(v);
  return { fields };
}

function any(obj: { [k: string]: Json }): { typeUrl: string; value: Buffer } {
  const { '@type': typeUrl, ...rest } = obj;
  if (typeof typeUrl !== 'string') throw new Error('protojson: Any without "@type"');
  const type = envoyProtoRoot().lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  // Well-known wrappers and Struct carry their JSON in "value".
  const inner = 'value' in rest && Object.keys(rest).length === 1 && type.fullName.startsWith('.google.protobuf.') ? rest['value']! : rest;
  const object = message(type, inner);
  return { typeUrl, value: Buffer.from(type.encode(type.fromObject(object)).finish()) };
}

function fieldValue(field: protobuf.Field, v: Json): unknown {
  field.resolve();
  const type = field.resolvedType;
  if (!(type instanceof protobuf.Type)) return v;
  return message(type, v);
}

function message(type: protobuf.Type, v: Json): any {
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return typeof v === 'string' ? timestamp(v) : v;
    case '.google.protobuf.Struct':
      return struct(v as { [k: string]: Json });
    case '.google.protobuf.Value':
      return value(v);
    case '.google.protobuf.ListValue':
      return { values: (v as Json[]).map(value) };
    case '.google.protobuf.Any':
      return any(v as { [k: string]: Json });
    case '.google.protobuf.StringValue':
    case '.google.protobuf.BoolValue':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.Int64Value':
    case '.google.protobuf.DoubleValue':
      return typeof v === 'object' && v !== null ? v : { value: v };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`protojson: ${type.fullName} expects an object, got ${JSON.stringify(v)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(v)) {
    const field = type.fields[key] ?? type.fieldsArray.find((f) => f.name === key);
    if (!field) throw new Error(`protojson: ${type.fullName} has no field ${JSON.stringify(key)}`);
    if (field.map) {
      const entries: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(raw as { [k: string]: Json })) entries[k] = fieldValue(field, item);
      out[field.name] = entries;
    } else if (field.repeated) {
      out[field.name] = (raw as Json[]).map((item) => fieldValue(field, item));
    } else {
      out[field.name] = fieldValue(field, raw);
    }
  }
  return out;
}

/** The CheckRequest type from Envoy's protos. */
export function checkRequestType(): protobuf.Type {
  return envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
}

/** Encodes a protojson CheckRequest to wire bytes; throws on a field the protos do not have. */
export function encodeProtojsonCheckRequest(request: unknown): Buffer {
  const type = checkRequestType();
  const object = message(type, request as Json);
  const problem = type.verify(type.fromObject(object));
  if (problem) throw new Error(`protojson: ${problem}`);
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}
