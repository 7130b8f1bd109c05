/**
 * A decoded protobuf message → plain object, field by field from the
 * schema, the way opa-envoy-plugin's protomap does it: JSON (lowerCamelCase)
 * names; unset and proto3-default scalars absent; map entries kept; enums
 * as numbers; int64 exact; `google.protobuf.Struct` as plain JSON.
 */
import Long from 'long';
import type protobuf from 'protobufjs';
import { goFloatG } from '../json/go-float.js';
import { RawJson } from '../json/raw-json.js';

/** How the caller wants bytes and Struct numbers. */
export interface ProtomapOptions {
  /** `base64` as Go's JSON rendering of []byte (policy input), or the Buffer itself. */
  readonly bytes: 'base64' | 'buffer';
  /** Struct numbers as Go prints float64 (`1e+06`), for a Rego input that must match OPA-Envoy's. */
  readonly goFloats: boolean;
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const STRUCT = '.google.protobuf.Struct';

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** google.protobuf.Value: only the member of its `kind` oneof that is set (defaults live on the prototype). */
function structValue(value: any, opts: ProtomapOptions): unknown {
  if (has(value, 'structValue')) return structToPlain(value.structValue, opts);
  if (has(value, 'listValue')) return (value.listValue.values ?? []).map((v: any) => structValue(v, opts));
  if (has(value, 'numberValue')) return opts.goFloats ? new RawJson(goFloatG(value.numberValue)) : value.numberValue;
  if (has(value, 'stringValue')) return value.stringValue;
  if (has(value, 'boolValue')) return value.boolValue;
  return null;
}

function structToPlain(struct: any, opts: ProtomapOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = struct.fields ?? {};
  for (const key of Object.keys(fields)) out[key] = structValue(fields[key], opts);
  return out;
}

/** How one field converts, worked out once per type. */
interface FieldPlan {
  readonly name: string;
  readonly kind: 'message' | 'bytes' | 'long' | 'plain';
  /** The message type's plan (kind `message`); filled after construction, as types may recurse. */
  message: TypePlan | undefined;
  readonly map: boolean;
  readonly repeated: boolean;
  /** A oneof member: present even at its default. */
  readonly partOf: boolean;
}

interface TypePlan {
  readonly struct: boolean;
  readonly fields: readonly FieldPlan[];
}

// Per type, so no request walks the reflection tree (protobufjs computes `fullName` on every read).
const plans = new WeakMap<protobuf.Type, TypePlan>();

function planOf(type: protobuf.Type): TypePlan {
  const known = plans.get(type);
  if (known) return known;
  const fields: FieldPlan[] = [];
  const plan: TypePlan = { struct: type.fullName === STRUCT, fields };
  plans.set(type, plan);
  for (const field of type.fieldsArray) {
    const resolved = field.resolvedType;
    const isMessage = resolved !== null && 'fieldsArray' in resolved;
    fields.push({
      name: field.name,
      kind: isMessage ? 'message' : field.type === 'bytes' ? 'bytes' : LONG_TYPES.has(field.type) ? 'long' : 'plain',
      message: undefined,
      map: field.map,
      repeated: field.repeated,
      partOf: field.partOf !== null && field.partOf !== undefined,
    });
  }
  type.fieldsArray.forEach((field, i) => {
    if (fields[i]!.kind === 'message') fields[i]!.message = planOf(field.resolvedType as protobuf.Type);
  });
  return plan;
}

function scalar(field: FieldPlan, v: any, opts: ProtomapOptions): unknown {
  switch (field.kind) {
    case 'message':
      return convert(field.message!, v, opts);
    case 'bytes':
      return opts.bytes === 'base64' ? Buffer.from(v).toString('base64') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    case 'long': {
      const long = typeof v === 'number' ? Long.fromNumber(v) : Long.fromValue(v);
      const n = long.toNumber();
      // Beyond 2^53 a JS number would round; the policy gets the exact digits.
      return Number.isSafeInteger(n) ? n : new RawJson(long.toString());
    }
    default:
      return v;
  }
}

function isDefault(field: FieldPlan, v: any): boolean {
  if (field.kind === 'message') return false; // message presence is explicit
  if (v === '' || v === 0 || v === false) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  return Long.isLong(v) && v.isZero();
}

function convert(plan: TypePlan, msg: any, opts: ProtomapOptions): Record<string, unknown> {
  if (plan.struct) return structToPlain(msg, opts);
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const name = field.name;
    if (!has(msg, name)) continue;
    const v = msg[name];
    if (v === null || v === undefined) continue;
    if (field.map) {
      const keys = Object.keys(v);
      if (keys.length === 0) continue;
      const m: Record<string, unknown> = {};
      for (const k of keys) m[k] = scalar(field, v[k], opts);
      out[name] = m;
    } else if (field.repeated) {
      if (v.length === 0) continue;
      out[name] = (v as unknown[]).map((item) => scalar(field, item, opts));
    } else if (!isDefault(field, v) || field.partOf) {
      out[name] = scalar(field, v, opts);
    }
  }
  return out;
}

/** Converts message `msg` of `type`. */
export function protomap(type: protobuf.Type, msg: any, opts: ProtomapOptions): Record<string, unknown> {
  return convert(planOf(type), msg, opts);
}
