/**
 * JSON text that goes into the policy input verbatim. OPA-Envoy decodes
 * bodies with json.Number, so `12345678901234567890`, `1.0` and `1e2` reach
 * the policy exactly as sent; a JS parse-and-stringify would change them.
 * Bodies are validated with JSON.parse, then spliced in as text.
 */
import { randomBytes } from 'node:crypto';

// Unguessable, so no string inside the request can imitate a placeholder.
const TAG = `\u0000iacdash-raw-${randomBytes(16).toString('hex')}:`;
const PLACEHOLDER = new RegExp(`"${JSON.stringify(TAG).slice(1, -1).replaceAll('\\', '\\\\')}(\\d+)"`, 'g');

/** The texts of the RawJsons met by the stringifyWithRaw call running now (JSON.stringify is synchronous). */
let collecting: string[] | undefined;

/** Validated JSON text. */
export class RawJson {
  constructor(readonly text: string) {}
  /** Inside stringifyWithRaw a placeholder; elsewhere (logs, `--explain-input`) a lossy JS view. */
  toJSON(): unknown {
    if (collecting) return `${TAG}${collecting.push(this.text) - 1}`;
    return JSON.parse(this.text);
  }
}

/**
 * JSON.stringify that writes each RawJson's text in place. It relies on
 * toJSON rather than a replacer: a replacer function costs a call per
 * value, and this runs on every Check.
 */
export function stringifyWithRaw(value: unknown): string {
  const raws: string[] = [];
  collecting = raws;
  let json: string;
  try {
    json = JSON.stringify(value);
  } finally {
    collecting = undefined;
  }
  return raws.length === 0 ? json : json.replace(PLACEHOLDER, (_m, i: string) => raws[Number(i)]!);
}
