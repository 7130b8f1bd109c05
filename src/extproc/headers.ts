/**
 * Envoy header maps ↔ ordered header lists, and the smallest HeaderMutation
 * that turns one list into another. Values travel in `raw_value` (bytes):
 * Envoy sends them there, and a mutation that sets both `value` and
 * `raw_value` is rejected. Pure: plain objects only.
 */

/** Ordered headers, lowercase names; a repeated name is a multi-value header. */
export type HeaderList = [name: string, value: string][];

/** config.core.v3.HeaderMap in proto-loader object form (camelCase). */
export interface HeaderMapObject {
  headers?: { key?: string; value?: string; rawValue?: Buffer | Uint8Array }[];
}

/** HeaderValueOption.HeaderAppendAction values. */
export const APPEND_IF_EXISTS_OR_ADD = 0;
export const OVERWRITE_IF_EXISTS_OR_ADD = 2;

/** ext_proc HeaderMutation in object form. */
export interface HeaderMutationObject {
  setHeaders?: { header: { key: string; rawValue: Buffer }; appendAction: number }[];
  removeHeaders?: string[];
}

/** Reads a HeaderMap, preferring `raw_value` (what Envoy sends) over `value`. */
export function headerListOf(map: HeaderMapObject | undefined): HeaderList {
  const out: HeaderList = [];
  for (const h of map?.headers ?? []) {
    if (!h.key) continue;
    const raw = h.rawValue;
    const value = raw && raw.length > 0 ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8') : (h.value ?? '');
    out.push([h.key.toLowerCase(), value]);
  }
  return out;
}

function valuesByName(list: HeaderList): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [name, value] of list) {
    const values = map.get(name);
    if (values) values.push(value);
    else map.set(name, [value]);
  }
  return map;
}

function sameValues(a: string[] | undefined, b: string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The mutation from `before` to `after`, exact for multi-value headers: a
 * changed name is overwritten by its first value and the others appended,
 * in order; a name that disappeared is removed.
 */
export function headerMutation(before: HeaderList, after: HeaderList): HeaderMutationObject {
  const old = valuesByName(before);
  const now = valuesByName(after);
  const setHeaders: NonNullable<HeaderMutationObject['setHeaders']> = [];
  const removeHeaders: string[] = [];
  for (const [name, values] of now) {
    if (sameValues(old.get(name), values)) continue;
    values.forEach((value, i) =>
      setHeaders.push({
        header: { key: name, rawValue: Buffer.from(value, 'utf8') },
        appendAction: i === 0 ? OVERWRITE_IF_EXISTS_OR_ADD : APPEND_IF_EXISTS_OR_ADD,
      }),
    );
  }
  for (const name of old.keys()) if (!now.has(name)) removeHeaders.push(name);
  const mutation: HeaderMutationObject = {};
  if (setHeaders.length) mutation.setHeaders = setHeaders;
  if (removeHeaders.length) mutation.removeHeaders = removeHeaders;
  return mutation;
}

/** HeaderValueOptions for a full header list (immediate responses). */
export function setAll(list: HeaderList): HeaderMutationObject {
  return headerMutation([], list);
}
