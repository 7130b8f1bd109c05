/**
 * Metrics a module defines with proxy_define_metric. Like Envoy's stats they
 * are keyed by name and outlive a VM reload; Envoy shows them in /stats as
 * `wasmcustom.<name>`. Ids carry the type in their two low bits, as in
 * Envoy (counters 4, 8, …; gauges 5, 9, …; histograms 6, 10, …).
 */
import { MetricType, Status, type MetricKind, type StatusCode } from './abi.js';

/** One metric's current state. */
export interface MetricSnapshot {
  name: string;
  kind: MetricKind;
  /** Counter or gauge value. */
  value: bigint;
  /** Every value recorded into a histogram, in order. */
  samples: bigint[];
}

const TYPE_MASK = 0x3;
const KIND_BY_TYPE: readonly MetricKind[] = ['counter', 'gauge', 'histogram'];
const U64 = (1n << 64n) - 1n;

/** The host's metric store. */
export class MetricStore {
  private readonly byName = new Map<string, MetricSnapshot>();
  private readonly byId = new Map<number, MetricSnapshot>();
  private readonly nextId = [MetricType.Counter, MetricType.Gauge, MetricType.Histogram] as number[];

  /** proxy_define_metric: returns [status, id]. Redefining a name returns a new id for the same metric. */
  define(type: number, name: string): [StatusCode, number] {
    const kind = KIND_BY_TYPE[type];
    if (kind === undefined) return [Status.BadArgument, 0];
    const key = `${kind}:${name}`;
    let metric = this.byName.get(key);
    if (!metric) {
      metric = { name, kind, value: 0n, samples: [] };
      this.byName.set(key, metric);
    }
    const id = ((this.nextId[type] ?? type) + 4) >>> 0;
    this.nextId[type] = id;
    this.byId.set(id, metric);
    return [Status.Ok, id];
  }

  private find(id: number): MetricSnapshot | undefined {
    const metric = this.byId.get(id >>> 0);
    return metric && KIND_BY_TYPE[(id >>> 0) & TYPE_MASK] === metric.kind ? metric : undefined;
  }

  /** proxy_increment_metric: counters take positive deltas only; histograms cannot be incremented. */
  increment(id: number, delta: bigint): StatusCode {
    const kind = KIND_BY_TYPE[(id >>> 0) & TYPE_MASK];
    if (kind === 'histogram' || kind === undefined) return Status.BadArgument;
    const metric = this.find(id);
    if (!metric) return Status.NotFound;
    if (kind === 'counter' && delta <= 0n) return Status.BadArgument;
    metric.value = (metric.value + delta) & U64;
    return Status.Ok;
  }

  /** proxy_record_metric: adds to a counter, sets a gauge, records into a histogram. */
  record(id: number, value: bigint): StatusCode {
    const metric = this.find(id);
    if (!metric) return Status.NotFound;
    const v = BigInt.asUintN(64, value);
    if (metric.kind === 'counter') metric.value = (metric.value + v) & U64;
    else if (metric.kind === 'gauge') metric.value = v;
    else metric.samples.push(v);
    return Status.Ok;
  }

  /** proxy_get_metric: counters and gauges only. */
  get(id: number): [StatusCode, bigint] {
    const kind = KIND_BY_TYPE[(id >>> 0) & TYPE_MASK];
    if (kind === 'histogram' || kind === undefined) return [Status.BadArgument, 0n];
    const metric = this.find(id);
    return metric ? [Status.Ok, metric.value] : [Status.NotFound, 0n];
  }

  /** Every metric, by name. */
  snapshot(): MetricSnapshot[] {
    return [...this.byName.values()].map((m) => ({ ...m, samples: [...m.samples] }));
  }

  /** One metric by name (any kind), or undefined. */
  lookup(name: string): MetricSnapshot | undefined {
    for (const m of this.byName.values()) if (m.name === name) return { ...m, samples: [...m.samples] };
    return undefined;
  }
}
