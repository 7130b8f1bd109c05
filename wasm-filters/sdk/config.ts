// Reading a JSON plugin configuration with an allow-list of keys and errors
// that name the offending path ("rules[2].scopes: expected an array of
// strings"). AssemblyScript has no exceptions, so readers record the first
// error and hand back defaults; check `errors.ok` at the end.
import { JsonType, JsonValue, parseJson } from "./json";

/** The first configuration error, if any. */
export class ConfigErrors {
  message: string = "";
  get ok(): bool {
    return this.message.length == 0;
  }
  add(path: string, what: string): void {
    if (this.message.length == 0) this.message = (path.length > 0 ? path + ": " : "") + what;
  }
}

function typeName(v: JsonValue): string {
  switch (v.type) {
    case JsonType.Null: return "null";
    case JsonType.Bool: return "a boolean";
    case JsonType.Number: return "a number";
    case JsonType.String: return "a string";
    case JsonType.Array: return "an array";
    default: return "an object";
  }
}

/** One JSON object of the configuration, at `path`, with the keys it may hold. */
export class ConfigObject {
  constructor(public readonly value: JsonValue, public readonly path: string, public readonly errors: ConfigErrors) {}

  /** Parses `text` as the top-level object; an empty text is `{}`. */
  static parse(text: string, allowed: string[], errors: ConfigErrors): ConfigObject {
    const parsed = parseJson(text.trim().length == 0 ? "{}" : text);
    const value = parsed.value;
    if (value === null) {
      errors.add("", "not valid JSON: " + parsed.error);
      return new ConfigObject(new JsonValue(), "", errors);
    }
    return ConfigObject.of(value, "", allowed, errors);
  }

  /** Wraps an object value, reporting a non-object or unknown keys. */
  static of(value: JsonValue, path: string, allowed: string[], errors: ConfigErrors): ConfigObject {
    if (!value.isObject()) {
      errors.add(path, "expected an object, got " + typeName(value));
      const empty = new JsonValue();
      empty.type = JsonType.Object;
      return new ConfigObject(empty, path, errors);
    }
    for (let i = 0; i < value.keys.length; i++) {
      const key = value.keys[i];
      if (!allowed.includes(key)) errors.add(path, "unknown key \"" + key + "\" (allowed: " + allowed.join(", ") + ")");
    }
    return new ConfigObject(value, path, errors);
  }

  child(key: string): string {
    return this.path.length > 0 ? this.path + "." + key : key;
  }

  has(key: string): bool {
    return this.value.get(key) !== null;
  }

  string(key: string, fallback: string): string {
    const v = this.value.get(key);
    if (v === null) return fallback;
    if (!v.isString()) {
      this.errors.add(this.child(key), "expected a string, got " + typeName(v));
      return fallback;
    }
    return v.str;
  }

  bool(key: string, fallback: bool): bool {
    const v = this.value.get(key);
    if (v === null) return fallback;
    if (!v.isBool()) {
      this.errors.add(this.child(key), "expected a boolean, got " + typeName(v));
      return fallback;
    }
    return v.bool;
  }

  /** A number within [min, max]. */
  number(key: string, fallback: f64, min: f64, max: f64): f64 {
    const v = this.value.get(key);
    if (v === null) return fallback;
    if (!v.isNumber()) {
      this.errors.add(this.child(key), "expected a number, got " + typeName(v));
      return fallback;
    }
    if (v.num < min || v.num > max) {
      this.errors.add(this.child(key), "must be between " + min.toString() + " and " + max.toString());
      return fallback;
    }
    return v.num;
  }

  /** An array of strings; `fallback` when absent. */
  strings(key: string, fallback: string[]): string[] {
    const v = this.value.get(key);
    if (v === null) return fallback;
    const out = new Array<string>();
    if (!v.isArray()) {
      this.errors.add(this.child(key), "expected an array of strings, got " + typeName(v));
      return fallback;
    }
    for (let i = 0; i < v.items.length; i++) {
      const item = v.items[i];
      if (!item.isString()) {
        this.errors.add(this.child(key) + "[" + i.toString() + "]", "expected a string, got " + typeName(item));
        continue;
      }
      out.push(item.str);
    }
    return out;
  }

  /** A nested object, or null when absent. */
  object(key: string, allowed: string[]): ConfigObject | null {
    const v = this.value.get(key);
    if (v === null) return null;
    return ConfigObject.of(v, this.child(key), allowed, this.errors);
  }

  /** The elements of an array of objects (empty when absent). */
  objects(key: string, allowed: string[]): ConfigObject[] {
    const out = new Array<ConfigObject>();
    const v = this.value.get(key);
    if (v === null) return out;
    if (!v.isArray()) {
      this.errors.add(this.child(key), "expected an array, got " + typeName(v));
      return out;
    }
    for (let i = 0; i < v.items.length; i++) {
      out.push(ConfigObject.of(v.items[i], this.child(key) + "[" + i.toString() + "]", allowed, this.errors));
    }
    return out;
  }

  /** The raw value, for fields of several shapes. */
  raw(key: string): JsonValue | null {
    return this.value.get(key);
  }
}
