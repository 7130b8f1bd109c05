/**
 * Host builtins for OPA-compiled wasm: the builtins `opa build -t wasm`
 * leaves to the host (it lists them in the module's `builtins` export) and
 * `@open-policy-agent/opa-wasm` does not implement. Pass the result as
 * `customBuiltins` to `loadPolicy`. OPA (v1.22) is the reference for every
 * result; test/unit/policy/builtins checks ours against `opa eval`.
 *
 * Errors: by default a failing builtin makes its expression undefined, as
 * in OPA and OPA-Envoy (where `strict-builtin-errors` is off); the error is
 * reported to `onError`. With `strictBuiltinErrors` it is thrown instead and
 * fails the whole evaluation. Refused builtins (net.lookup_ip_addr) always
 * throw.
 */
import { RefusedBuiltinError } from './args.js';
import { oncePerEvaluation, systemNowNs, type NowNs } from './clock.js';
import { cryptoBuiltins } from './crypto.js';
import { jwtBuiltins } from './jwt.js';
import { netBuiltins } from './net.js';
import { timeBuiltins } from './time.js';

export { BuiltinError, RefusedBuiltinError } from './args.js';

/** A host builtin as opa-wasm calls it: JSON-decoded arguments in, a JSON-able value or raw JSON (ArrayBuffer) out. */
export type HostBuiltin = (...args: any[]) => unknown;

/** Options of {@link createHostBuiltins}. */
export interface HostBuiltinOptions {
  /**
   * Nanoseconds since the epoch (default: the system clock). It is read
   * once per evaluation (see clock.ts), as OPA reads it once per query.
   */
  readonly now?: NowNs;
  /** OPA's `--strict-builtin-errors`: throw builtin errors instead of making the call undefined. */
  readonly strictBuiltinErrors?: boolean;
  /** Told of each builtin error that was turned into undefined (OPA's builtin error list). */
  readonly onError?: (error: Error) => void;
}

function collect(now: NowNs): Record<string, HostBuiltin> {
  return { ...jwtBuiltins(now), ...timeBuiltins(now), ...cryptoBuiltins(), ...netBuiltins() };
}

/** Names of every builtin we provide to the wasm host. */
export const HOST_BUILTIN_NAMES: readonly string[] = Object.freeze(Object.keys(collect(() => 0n)).sort());

/** The host builtins, keyed by OPA builtin name. */
export function createHostBuiltins(options: HostBuiltinOptions = {}): Record<string, HostBuiltin> {
  const { strictBuiltinErrors = false, onError } = options;
  const builtins = collect(oncePerEvaluation(options.now ?? systemNowNs()));
  if (strictBuiltinErrors) return builtins;
  const lenient: Record<string, HostBuiltin> = {};
  for (const [name, fn] of Object.entries(builtins)) {
    lenient[name] = (...args) => {
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof RefusedBuiltinError || !(err instanceof Error)) throw err;
        onError?.(err);
        return undefined; // opa-wasm passes undefined as "no value": the expression is undefined
      }
    };
  }
  return lenient;
}
