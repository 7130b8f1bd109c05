// A small strict JSON (RFC 8259) parser and string escaper for plugin
// configuration, token claims and log lines. It reports errors instead of
// trapping, and limits nesting so hostile input cannot exhaust the stack.

/** The kind of a {@link JsonValue}. */
export enum JsonType {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

/** A parsed JSON value. One class for every kind keeps access free of casts that could trap. */
export class JsonValue {
  type: JsonType = JsonType.Null;
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  /** Array elements, or object values (parallel to {@link keys}). */
  items: JsonValue[] = new Array<JsonValue>();
  /** Object keys in document order. */
  keys: string[] = new Array<string>();

  isNull(): bool { return this.type == JsonType.Null; }
  isBool(): bool { return this.type == JsonType.Bool; }
  isNumber(): bool { return this.type == JsonType.Number; }
  isString(): bool { return this.type == JsonType.String; }
  isArray(): bool { return this.type == JsonType.Array; }
  isObject(): bool { return this.type == JsonType.Object; }

  /** Number of array elements or object members. */
  get length(): i32 {
    return this.items.length;
  }

  /** An object member (the last one when a key repeats, as JSON.parse does); null if absent or not an object. */
  get(key: string): JsonValue | null {
    if (this.type != JsonType.Object) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (unchecked(this.keys[i]) == key) return unchecked(this.items[i]);
    }
    return null;
  }

  /** An array element; null when out of range or not an array. */
  at(index: i32): JsonValue | null {
    if (this.type != JsonType.Array || index < 0 || index >= this.items.length) return null;
    return unchecked(this.items[index]);
  }
}

/** The outcome of {@link parseJson}: a value, or an error with its position. */
export class JsonResult {
  constructor(public readonly value: JsonValue | null, public readonly error: string) {}
  get ok(): bool {
    return this.value !== null;
  }
}

const MAX_DEPTH = 64;

class Parser {
  pos: i32 = 0;
  error: string = "";
  constructor(public text: string) {}

  fail(message: string): JsonValue | null {
    if (this.error.length == 0) this.error = message + " at offset " + this.pos.toString();
    return null;
  }

  peek(): i32 {
    return this.text.charCodeAt(this.pos); // -1 past the end
  }

  skipSpace(): void {
    for (;;) {
      const c = this.peek();
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.pos++;
      else return;
    }
  }

  literal(word: string): bool {
    if (this.text.substr(this.pos, word.length) != word) return false;
    this.pos += word.length;
    return true;
  }

  value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    this.skipSpace();
    const c = this.peek();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return null;
      const v = new JsonValue();
      v.type = JsonType.String;
      v.str = s;
      return v;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal("true")) return boolValue(true);
    if (this.literal("false")) return boolValue(false);
    if (this.literal("null")) return new JsonValue();
    if (c < 0) return this.fail("unexpected end of input");
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  object(depth: i32): JsonValue | null {
    this.pos++; // {
    const v = new JsonValue();
    v.type = JsonType.Object;
    this.skipSpace();
    if (this.peek() == 0x7d) {
      this.pos++;
      return v;
    }
    for (;;) {
      this.skipSpace();
      if (this.peek() != 0x22) return this.fail("expected a string key");
      const key = this.string();
      if (key === null) return null;
      this.skipSpace();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      const member = this.value(depth + 1);
      if (member === null) return null;
      v.keys.push(key);
      v.items.push(member);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x2c) continue;
      if (c == 0x7d) return v;
      this.pos--;
      return this.fail("expected ',' or '}'");
    }
  }

  array(depth: i32): JsonValue | null {
    this.pos++; // [
    const v = new JsonValue();
    v.type = JsonType.Array;
    this.skipSpace();
    if (this.peek() == 0x5d) {
      this.pos++;
      return v;
    }
    for (;;) {
      const item = this.value(depth + 1);
      if (item === null) return null;
      v.items.push(item);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x2c) continue;
      if (c == 0x5d) return v;
      this.pos--;
      return this.fail("expected ',' or ']'");
    }
  }

  hex4(): i32 {
    let n = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.peek();
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) return -1;
      n = (n << 4) | d;
      this.pos++;
    }
    return n;
  }

  string(): string | null {
    this.pos++; // opening quote
    const parts = new Array<string>();
    let start = this.pos;
    for (;;) {
      const c = this.peek();
      if (c < 0) {
        this.fail("unterminated string");
        return null;
      }
      if (c == 0x22) {
        parts.push(this.text.substring(start, this.pos));
        this.pos++;
        return parts.join("");
      }
      if (c < 0x20) {
        this.fail("control character in string");
        return null;
      }
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      parts.push(this.text.substring(start, this.pos));
      this.pos++; // backslash
      const e = this.peek();
      this.pos++;
      if (e == 0x22) parts.push("\"");
      else if (e == 0x5c) parts.push("\\");
      else if (e == 0x2f) parts.push("/");
      else if (e == 0x62) parts.push("\b");
      else if (e == 0x66) parts.push("\f");
      else if (e == 0x6e) parts.push("\n");
      else if (e == 0x72) parts.push("\r");
      else if (e == 0x74) parts.push("\t");
      else if (e == 0x75) {
        const code = this.hex4();
        if (code < 0) {
          this.fail("bad \\u escape");
          return null;
        }
        parts.push(String.fromCharCode(code));
      } else {
        this.pos--;
        this.fail("bad escape");
        return null;
      }
      start = this.pos;
    }
    return null; // not reached: the loop returns
  }

  digits(): i32 {
    const from = this.pos;
    for (;;) {
      const c = this.peek();
      if (c >= 0x30 && c <= 0x39) this.pos++;
      else return this.pos - from;
    }
    return 0; // not reached
  }

  number(): JsonValue | null {
    const from = this.pos;
    if (this.peek() == 0x2d) this.pos++;
    if (this.peek() == 0x30) {
      this.pos++;
    } else if (this.digits() == 0) {
      return this.fail("bad number");
    }
    if (this.peek() == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return this.fail("bad fraction");
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.pos++;
      if (this.digits() == 0) return this.fail("bad exponent");
    }
    const v = new JsonValue();
    v.type = JsonType.Number;
    v.num = parseFloat(this.text.substring(from, this.pos));
    return v;
  }
}

function boolValue(b: bool): JsonValue {
  const v = new JsonValue();
  v.type = JsonType.Bool;
  v.bool = b;
  return v;
}

/** Parses one JSON document. Never traps: errors come back in the result. */
export function parseJson(text: string): JsonResult {
  const parser = new Parser(text);
  const value = parser.value(0);
  if (value === null) return new JsonResult(null, parser.error);
  parser.skipSpace();
  if (parser.pos < text.length) {
    parser.fail("unexpected data after the value");
    return new JsonResult(null, parser.error);
  }
  return new JsonResult(value, "");
}

const HEX = "0123456789abcdef";

/** `text` as a JSON string literal, quotes included. */
export function jsonString(text: string): string {
  const parts = new Array<string>();
  parts.push("\"");
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    parts.push(text.substring(start, i));
    if (c == 0x22) parts.push("\\\"");
    else if (c == 0x5c) parts.push("\\\\");
    else if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else parts.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
    start = i + 1;
  }
  parts.push(text.substring(start));
  parts.push("\"");
  return parts.join("");
}
