/** Where `time.now_ns` and `io.jwt.decode_verify`'s default time come from. */

/** Nanoseconds since the Unix epoch. */
export type NowNs = () => bigint;

const NS_PER_MS = 1_000_000n;

/**
 * Wall clock with nanosecond resolution: `Date.now()` anchors
 * `process.hrtime`, and is re-read to re-anchor when the two drift apart by
 * a millisecond (NTP steps, suspend).
 */
export function systemNowNs(): NowNs {
  let anchor = BigInt(Date.now()) * NS_PER_MS - process.hrtime.bigint();
  return () => {
    const now = anchor + process.hrtime.bigint();
    const wall = BigInt(Date.now()) * NS_PER_MS;
    const drift = now - wall;
    if (drift >= NS_PER_MS || drift <= -NS_PER_MS) {
      anchor = wall - process.hrtime.bigint();
      return wall;
    }
    return now;
  };
}

/**
 * OPA reads the clock once per query. opa-wasm runs a whole evaluation
 * synchronously, so we keep the first reading until the current job ends
 * (the next microtask): every call within one evaluation sees the same
 * instant. Evaluations run back to back in one synchronous loop share it too.
 */
export function oncePerEvaluation(now: NowNs): NowNs {
  let cached: bigint | undefined;
  const clear = (): void => {
    cached = undefined;
  };
  return () => {
    if (cached === undefined) {
      cached = now();
      queueMicrotask(clear);
    }
    return cached;
  };
}
