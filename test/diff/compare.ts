/**
 * Normalisation of CheckResponses for the differential test. Only what the
 * peer leaves unordered (Go map iteration) or random (decision ids) is
 * normalised; everything else is compared as decoded.
 */
import protobuf from 'protobufjs';
import { envoyProtoRoot } from '../../src/server/protos.js';
import type { CheckResponse } from './peers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A response with the decision id taken out. */
export interface Normalised {
  readonly response: CheckResponse;
  /** undefined when the response has no `dynamic_metadata.decision_id`. */
  readonly decisionId: string | undefined;
}

/** True for a version-4-style UUID string as Go's uuid.NewString and node's randomUUID write it. */
export function isUuid(v: unknown): boolean {
  return typeof v === 'string' && UUID.test(v);
}

function byKey(a: any, b: any): number {
  const ka: string = a?.header?.key ?? a?.key ?? '';
  const kb: string = b?.header?.key ?? b?.key ?? '';
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Stable sort by key: OPA-Envoy iterates a Go map for each headers object and
 * for query_parameters_to_set, so the order of distinct keys is random, while
 * the order of one key's values (array items, array-form objects) is kept.
 */
function sortPairs(list: unknown): void {
  if (Array.isArray(list)) list.sort(byKey);
}

// ---- JSON text canonicalisation (number text kept) ----

type Canon = { num: string } | string | boolean | null | Canon[] | { obj: [string, Canon][] };

class JsonText {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Canon {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) throw new Error('trailing data');
    return v;
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\r\n'.includes(this.s[this.i]!)) this.i++;
  }

  private value(): Canon {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const entries: [string, Canon][] = [];
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return { obj: entries };
      }
      for (;;) {
        this.ws();
        const key = this.value();
        if (typeof key !== 'string') throw new Error('object key');
        this.ws();
        if (this.s[this.i++] !== ':') throw new Error('colon');
        entries.push([key, this.value()]);
        this.ws();
        const sep = this.s[this.i++];
        if (sep === '}') return { obj: entries };
        if (sep !== ',') throw new Error('object separator');
      }
    }
    if (c === '[') {
      this.i++;
      const items: Canon[] = [];
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return items;
      }
      for (;;) {
        items.push(this.value());
        this.ws();
        const sep = this.s[this.i++];
        if (sep === ']') return items;
        if (sep !== ',') throw new Error('array separator');
      }
    }
    if (c === '"') {
      const m = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(this.s.slice(this.i));
      if (!m) throw new Error('string');
      this.i += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (!m) throw new Error('value');
    this.i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    return { num: m[0] };
  }
}

function write(v: Canon): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
  if ('num' in v) return v.num;
  const sorted = [...v.obj].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${sorted.map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`).join(',')}}`;
}

/**
 * JSON text as a canonical string: object keys sorted, strings re-escaped
 * the same way, number text exactly as written. Non-JSON text is returned
 * unchanged. Used only where the policy wrote a value with json.marshal: OPA's
 * Go json.marshal sorts keys and HTML-escapes `<`, `>`, `&`, U+2028/9 while
 * the wasm one keeps hash order and does not escape, and this test is about
 * the input and response translation, not json.marshal (the
 * decision-json-marshal case pins that difference on its own).
 */
export function canonicalJsonText(text: string): string {
  try {
    return write(new JsonText(text).parse());
  } catch {
    return text;
  }
}

function canonHeaders(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const h of list) if (h?.header && typeof h.header.value === 'string') h.header.value = canonicalJsonText(h.header.value);
}

/**
 * Drops proto3 scalar fields that hold their default value (0, "", false)
 * outside a oneof: such a field means the same whether or not it is on the
 * wire (Go never writes it, protobufjs writes it when it was set), so the
 * decoded objects differ without any reader seeing a difference. Oneof
 * members (e.g. Struct's `numberValue: 0`) keep their presence.
 */
function stripDefaults(type: protobuf.Type, obj: Record<string, any>): void {
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined) continue;
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      if (sub) for (const k of Object.keys(v)) stripDefaults(sub, v[k]);
    } else if (field.repeated) {
      if (sub) for (const item of v) stripDefaults(sub, item);
    } else if (sub) {
      stripDefaults(sub, v);
    } else if (!field.partOf && (v === 0 || v === '' || v === false || (Buffer.isBuffer(v) && v.length === 0))) {
      delete obj[field.name];
    }
  }
}

let responseType: protobuf.Type | undefined;

/** Takes out the decision id and sorts map-ordered lists; `jsonText` also canonicalises json.marshal output. */
export function normalise(res: CheckResponse, opts: { jsonText?: boolean } = {}): Normalised {
  const r = structuredClone(res);
  responseType ??= envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckResponse');
  stripDefaults(responseType, r as Record<string, any>);
  let decisionId: string | undefined;
  const fields = r.dynamicMetadata?.fields;
  if (fields && 'decision_id' in fields) {
    decisionId = fields['decision_id']?.stringValue;
    delete fields['decision_id'];
  }
  const ok = r.okResponse;
  if (ok) {
    sortPairs(ok['headers']);
    sortPairs(ok['responseHeadersToAdd']);
    sortPairs(ok['queryParametersToSet']);
  }
  const denied = r.deniedResponse;
  if (denied) sortPairs(denied.headers);
  if (opts.jsonText) {
    canonHeaders(ok?.['headers']);
    canonHeaders(denied?.headers);
    if (denied && typeof denied.body === 'string') denied.body = canonicalJsonText(denied.body);
  }
  return { response: r, decisionId };
}
