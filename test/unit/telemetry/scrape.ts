/** Scrapes /metrics and parses it with a real Prometheus text-format parser (prom2json's output shape). */
import { createRequire } from 'node:module';

/** One parsed sample: counters and gauges carry `value`, histograms `buckets`, `count` and `sum` (all strings, as prom2json). */
export interface Sample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
/** One metric family. */
export interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}

// The package ships CommonJS without type declarations.
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** GET /metrics, parsed; also returns the raw text and content type. */
export async function scrape(port: number): Promise<{ families: Map<string, Family>; text: string; contentType: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return { families: new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])), text, contentType: res.headers.get('content-type') };
}

/** The value of the series of `name` whose labels include `labels`; undefined when there is none. */
export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const sample = series(families, name, labels);
  if (!sample) return undefined;
  return Number(sample.value ?? sample.count);
}

/** The one sample of `name` matching `labels`. */
export function series(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample | undefined {
  const family = families.get(name);
  return family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}
