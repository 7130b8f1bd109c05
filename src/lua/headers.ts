/**
 * An ordered header map with Envoy's HeaderMapImpl semantics, as the Lua
 * header wrapper sees it, and the diff that turns it into a mutation.
 * Names are byte strings (one char per byte, UTF-8 at the edges), lowercased
 * in ASCII only, as Envoy's LowerCaseString does; values are raw bytes.
 */
import type { HeaderList, HeaderMutation } from './types.js';

/** One header entry. */
export interface HeaderEntry {
  name: string;
  value: Buffer;
}

/** ASCII-only lowercase, byte-preserving (Envoy's LowerCaseString). */
export function lowerName(name: string): string {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : name;
}

/** Inside the model a name is its UTF-8 bytes, one char per byte (what the script sees); a no-op for ASCII. */
export function byteName(name: string): string {
  return /[^\x00-\x7f]/.test(name) ? Buffer.from(name, 'utf8').toString('latin1') : name;
}

/** The name as a JS string again (UTF-8 decoded) for mutations; a no-op for ASCII. */
export function textName(name: string): string {
  return /[^\x00-\x7f]/.test(name) ? Buffer.from(name, 'latin1').toString('utf8') : name;
}

function toBuffer(v: string | Uint8Array): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Mutable header map. */
export class HeaderModel {
  readonly entries: HeaderEntry[];

  constructor(list: HeaderList | HeaderEntry[] = []) {
    this.entries = [];
    for (const item of list) {
      if (Array.isArray(item)) {
        const [name, value] = item as readonly [string, string | Uint8Array];
        this.add(lowerName(byteName(name)), toBuffer(value));
      } else {
        const e = item as HeaderEntry;
        this.entries.push({ name: e.name, value: e.value });
      }
    }
  }

  /** All values of a name, in order. */
  values(name: string): Buffer[] {
    const out: Buffer[] = [];
    for (const e of this.entries) if (e.name === name) out.push(e.value);
    return out;
  }

  /** Appends; pseudo-headers go after the last pseudo-header, as in Envoy's HeaderList. */
  add(name: string, value: Buffer): void {
    if (name.startsWith(':')) {
      let i = 0;
      while (i < this.entries.length && (this.entries[i] as HeaderEntry).name.startsWith(':')) i++;
      this.entries.splice(i, 0, { name, value });
    } else {
      this.entries.push({ name, value });
    }
  }

  /** Removes every value of a name. */
  remove(name: string): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if ((this.entries[i] as HeaderEntry).name === name) this.entries.splice(i, 1);
    }
  }

  /** Envoy's setCopy: remove all values, then add one (so it moves to the end). */
  replace(name: string, value: Buffer): void {
    this.remove(name);
    this.add(name, value);
  }

  /** Envoy's setInline (content-length): set the first value in place, drop the others, or add. */
  setInPlace(name: string, value: Buffer): void {
    const i = this.entries.findIndex((e) => e.name === name);
    if (i < 0) {
      this.add(name, value);
      return;
    }
    (this.entries[i] as HeaderEntry).value = value;
    for (let j = this.entries.length - 1; j > i; j--) {
      if ((this.entries[j] as HeaderEntry).name === name) this.entries.splice(j, 1);
    }
  }

  /** A deep-enough copy (values are never mutated in place). */
  clone(): HeaderModel {
    return new HeaderModel(this.entries);
  }

  /** The mutation that turns `original` into this map. */
  diff(original: HeaderModel): HeaderMutation {
    const before = group(original.entries);
    const after = group(this.entries);
    const set: HeaderMutation['set'] = [];
    const remove: string[] = [];
    for (const [name, values] of after) {
      const old = before.get(name);
      if (old === undefined || !sameValues(old, values)) set.push({ name: textName(name), values });
    }
    for (const name of before.keys()) if (!after.has(name)) remove.push(textName(name));
    return {
      changed: set.length > 0 || remove.length > 0,
      set,
      remove,
      headers: this.entries.map((e) => [textName(e.name), e.value]),
    };
  }
}

function group(entries: HeaderEntry[]): Map<string, Buffer[]> {
  const m = new Map<string, Buffer[]>();
  for (const e of entries) {
    const list = m.get(e.name);
    if (list === undefined) m.set(e.name, [e.value]);
    else list.push(e.value);
  }
  return m;
}

function sameValues(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(a[i] as Buffer).equals(b[i] as Buffer)) return false;
  return true;
}
