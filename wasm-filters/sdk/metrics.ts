// Metrics defined by the module. Envoy names them `wasmcustom.<name>` in
// /stats (and strips the prefix in /stats/prometheus); define them once, in
// onConfigure or onVmStart, and keep the objects.
import { MetricType, WasmResult } from "./abi";
import { proxy_define_metric, proxy_get_metric, proxy_increment_metric, proxy_record_metric } from "./imports";
import { ptrOf, RET_U32, RET_U64, utf8 } from "./memory";

function define(type: MetricType, name: string): u32 {
  const bytes = utf8(name);
  store<u32>(RET_U32, 0);
  if (proxy_define_metric(type, ptrOf(bytes), <usize>bytes.byteLength, RET_U32) != WasmResult.Ok) return 0;
  return load<u32>(RET_U32);
}

function read(id: u32): u64 {
  store<u64>(RET_U64, 0);
  if (proxy_get_metric(id, RET_U64) != WasmResult.Ok) return 0;
  return load<u64>(RET_U64);
}

/** A monotonically increasing count. */
export class Counter {
  readonly id: u32;
  constructor(public readonly name: string) {
    this.id = define(MetricType.Counter, name);
  }
  /** Adds `delta` (must be positive: Envoy rejects 0 and negative deltas with BAD_ARGUMENT). */
  increment(delta: i64 = 1): WasmResult {
    return <WasmResult>proxy_increment_metric(this.id, delta);
  }
  get(): u64 {
    return read(this.id);
  }
}

/** A value that goes up and down. */
export class Gauge {
  readonly id: u32;
  constructor(public readonly name: string) {
    this.id = define(MetricType.Gauge, name);
  }
  set(value: u64): WasmResult {
    return <WasmResult>proxy_record_metric(this.id, value);
  }
  add(delta: i64): WasmResult {
    return <WasmResult>proxy_increment_metric(this.id, delta);
  }
  get(): u64 {
    return read(this.id);
  }
}

/** A distribution of recorded values (Envoy reports quantiles, counts and sums). */
export class Histogram {
  readonly id: u32;
  constructor(public readonly name: string) {
    this.id = define(MetricType.Histogram, name);
  }
  record(value: u64): WasmResult {
    return <WasmResult>proxy_record_metric(this.id, value);
  }
}
