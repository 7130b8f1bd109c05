import { proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds } from "./imports";
import { RET_U64 } from "./memory";

/** Wall-clock time from the host, in nanoseconds since the Unix epoch (0 if the host refuses). */
export function currentTimeNanos(): u64 {
  store<u64>(RET_U64, 0);
  proxy_get_current_time_nanoseconds(RET_U64);
  return load<u64>(RET_U64);
}

/** Asks the host to call the root context's onTick every `periodMs` (0 stops it). */
export function setTickPeriod(periodMs: u32): i32 {
  return proxy_set_tick_period_milliseconds(periodMs);
}
