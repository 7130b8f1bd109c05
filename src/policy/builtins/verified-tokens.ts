/**
 * Remembers which tokens passed signature verification under which key, so
 * a client that sends the same token on every request pays for the HMAC or
 * RSA check once. Only the signature outcome is kept: it depends on the
 * token and the key alone. Claims that depend on the clock (exp, nbf) are
 * checked on every call by the caller.
 */

/** Most keys a policy verifies against; more is unusual and simply starts over. */
const MAX_KEYS = 16;
/** Most tokens remembered per key; the oldest is forgotten first. */
const MAX_TOKENS_PER_KEY = 1024;

/** A bounded map from (key, token) to what verifying `token` with `key` gave. */
export class VerifiedTokens<T> {
  private readonly byKey = new Map<string, Map<string, T>>();

  /** The remembered outcome, or undefined. */
  get(key: string, token: string): T | undefined {
    return this.byKey.get(key)?.get(token);
  }

  /** Remembers `outcome`; evicts the oldest entry when full. */
  set(key: string, token: string, outcome: T): void {
    let tokens = this.byKey.get(key);
    if (!tokens) {
      if (this.byKey.size >= MAX_KEYS) this.byKey.clear();
      tokens = new Map();
      this.byKey.set(key, tokens);
    }
    if (tokens.size >= MAX_TOKENS_PER_KEY) tokens.delete(tokens.keys().next().value!);
    tokens.set(token, outcome);
  }

  /** Entries held, for tests. */
  get size(): number {
    let n = 0;
    for (const tokens of this.byKey.values()) n += tokens.size;
    return n;
  }
}
