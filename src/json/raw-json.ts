/**
 * JSON text that goes into the policy input verbatim. OPA-Envoy decodes
 * bodies with json.Number, so `12345678901234567890`, `1.0` and `1e2` reach
 * the policy exactly as sent; a JS parse-and-stringify would change them.
 * Bodies are validated with JSON.parse, then spliced in as text.
 */
import { randomBytes } from 'node:crypto';

/** Validated JSON text. */
export class RawJson {
  constructor(readonly text: string) {}
  /** For logs and `--explain-input` only: a lossy JS view. */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

// Unguessable, so no string inside the request can imitate a placeholder.
const TAG = `\u0000iacdash-raw-${randomBytes(16).toString('hex')}:`;
const PLACEHOLDER = new RegExp(`"${JSON.stringify(TAG).slice(1, -1).replaceAll('\\', '\\\\')}(\\d+)"`, 'g');

/** JSON.stringify that writes each RawJson's text in place. */
export function stringifyWithRaw(value: unknown): string {
  const raws: string[] = [];
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    // `v` has been through toJSON already; the holder still has the RawJson.
    const original = this[key];
    if (original instanceof RawJson) {
      raws.push(original.text);
      return `${TAG}${raws.length - 1}`;
    }
    return v;
  });
  return raws.length === 0 ? json : json.replace(PLACEHOLDER, (_m, i: string) => raws[Number(i)]!);
}
