/**
 * Envoy header maps ↔ the header lists and mutations the Lua runtime
 * speaks. Values are bytes: Envoy sends them in `raw_value`, and a mutation
 * that sets both `value` and `raw_value` is rejected, so we only ever write
 * `raw_value`. Pure: plain objects only.
 */

/** Ordered headers, lowercase names, raw values; a repeated name is a multi-value header. */
export type RawHeaderList = [name: string, value: Buffer][];

/** config.core.v3.HeaderMap in protomap form. */
export interface HeaderMapObject {
  headers?: { key?: string; value?: string; rawValue?: Buffer }[];
}

/** HeaderValueOption.HeaderAppendAction values. */
export const APPEND_IF_EXISTS_OR_ADD = 0;
export const OVERWRITE_IF_EXISTS_OR_ADD = 2;

/** One HeaderValueOption in object form. */
export interface HeaderOption {
  header: { key: string; rawValue: Buffer };
  appendAction: number;
  /** The deprecated BoolValue: Envoy reads it when append_action is 0 (its default), so appends need it. */
  append?: { value: boolean };
}

/** ext_proc HeaderMutation in object form. */
export interface HeaderMutationObject {
  setHeaders?: HeaderOption[];
  removeHeaders?: string[];
}

/** What changed in a header map: every value of each `set` name replaced, `remove` names dropped. */
export interface HeaderChange {
  set: { name: string; values: Buffer[] }[];
  remove: string[];
}

/** Reads a HeaderMap, preferring `raw_value` (what Envoy sends) over `value`. */
export function headerListOf(map: HeaderMapObject | undefined): RawHeaderList {
  const out: RawHeaderList = [];
  for (const h of map?.headers ?? []) {
    if (!h.key) continue;
    out.push([h.key.toLowerCase(), h.rawValue ?? Buffer.from(h.value ?? '', 'utf8')]);
  }
  return out;
}

/**
 * The ext_proc mutation for a change, exact for multi-value headers: each
 * name's first value overwrites, the rest append, in order.
 */
export function toHeaderMutation(change: HeaderChange): HeaderMutationObject {
  const setHeaders: HeaderOption[] = [];
  for (const { name, values } of change.set) {
    values.forEach((rawValue, i) =>
      setHeaders.push(
        i === 0
          ? { header: { key: name, rawValue }, appendAction: OVERWRITE_IF_EXISTS_OR_ADD }
          : { header: { key: name, rawValue }, appendAction: APPEND_IF_EXISTS_OR_ADD, append: { value: true } },
      ),
    );
  }
  const mutation: HeaderMutationObject = {};
  if (setHeaders.length) mutation.setHeaders = setHeaders;
  if (change.remove.length) mutation.removeHeaders = [...change.remove];
  return mutation;
}

/** Every header of a list as options (immediate responses). */
export function setAll(list: RawHeaderList): HeaderMutationObject {
  const byName = new Map<string, Buffer[]>();
  for (const [name, value] of list) byName.set(name, [...(byName.get(name) ?? []), value]);
  return toHeaderMutation({ set: [...byName].map(([name, values]) => ({ name, values })), remove: [] });
}

/** The first value of a header as text, or undefined. */
export function headerText(headers: RawHeaderList, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v.toString('utf8');
  return undefined;
}
