/** google.protobuf.Struct in protobufjs object form ↔ plain JSON. */

/** google.protobuf.Value in protobufjs object form. */
export type ProtoValue =
  | { nullValue: 0 }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: ProtoStruct }
  | { listValue: { values: ProtoValue[] } };

/** google.protobuf.Struct in protobufjs object form. */
export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

function toValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

/** Plain object → google.protobuf.Struct (Go's structpb.NewStruct). */
export function jsonToStruct(obj: Record<string, unknown>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const key of Object.keys(obj)) fields[key] = toValue(obj[key]);
  return { fields };
}

function fromValue(v: ProtoValue): unknown {
  if ('structValue' in v) return structToJson(v.structValue);
  if ('listValue' in v) return v.listValue.values.map(fromValue);
  if ('numberValue' in v) return v.numberValue;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  return null;
}

/** google.protobuf.Struct → plain object, for printing a response. */
export function structToJson(struct: ProtoStruct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(struct.fields)) out[key] = fromValue(struct.fields[key]!);
  return out;
}
