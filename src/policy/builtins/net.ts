/** `net.*` builtins that would reach the network: refused. */
import { RefusedBuiltinError } from './args.js';

type Builtin = (...args: unknown[]) => unknown;

/** The refused `net.*` host builtins. */
export function netBuiltins(): Record<string, Builtin> {
  return {
    'net.lookup_ip_addr': () => {
      throw new RefusedBuiltinError('net.lookup_ip_addr', 'no network calls from policies');
    },
  };
}
