/**
 * Local proxy-wasm (ABI 0.2.1) host for HTTP filters, for tests: it runs a
 * filter module in Node's WebAssembly the way Envoy runs it, and records what
 * the filter did. Not a production proxy.
 */
export { Status, LOG_LEVELS, ENVOY_IMPORTS, type LogLevelName, type StatusCode } from './abi.js';
export { WasmHostError, type WasmHostErrorCode } from './errors.js';
export type { ClientResponse, Exchange, HttpRequestInput, Upstream, UpstreamRequest, UpstreamResponse } from './exchange.js';
export { HeaderMap, deserializePairs, serializePairs, toHeaderList, type HeaderInput, type HeaderList } from './header-map.js';
export { ProxyWasmHost, fixedClock, type ExchangeMeta, type FailurePolicy, type HostOptions, type ReloadStats } from './host.js';
export type { MetricSnapshot } from './metrics.js';
export type { PropertyValue } from './properties.js';
export type { HttpCallHandler, HttpCallReply, HttpCallRequest, LogRecord } from './services.js';
export type { LocalReply } from './stream-state.js';
export type { VmFailure } from './vm.js';
export { fixtureSchema, parseFixture, runFixture, type Fixture, type FixtureResult } from './fixture.js';
