// The SDK's public API. A filter's entry file imports from here and also
// re-exports the ABI callbacks: `export * from "../../sdk/exports";`.
export { Action, BufferType, LogLevel, MapType, MetricType, NO_GRPC_STATUS, StreamType, WasmResult } from "./abi";
export { Context, HttpCallHandler, HttpContext, RootContext, sendLocalResponse } from "./context";
export {
  HeaderMap,
  HeaderPair,
  HeaderSnapshot,
  deserializeHeaders,
  httpCallResponseHeaders,
  httpCallResponseTrailers,
  requestHeaders,
  requestTrailers,
  responseHeaders,
  responseTrailers,
  serializeHeaders,
} from "./headers";
export { Buffer, httpCallResponseBody, pluginConfiguration, requestBody, responseBody, vmConfiguration } from "./buffers";
export { getLogLevel, log, logEnabled, logCritical, logDebug, logError, logInfo, logTrace, logWarn } from "./log";
export { Counter, Gauge, Histogram } from "./metrics";
export {
  getProperty,
  getPropertyBool,
  getPropertyBytes,
  getPropertyInt64,
  getPropertyString,
  Property,
  setProperty,
} from "./properties";
export { RootFactory, registerRootContext } from "./registry";
export {
  SharedValue,
  dequeueSharedQueue,
  enqueueSharedQueue,
  getSharedData,
  registerSharedQueue,
  resolveSharedQueue,
  setSharedData,
} from "./shared-data";
export { currentTimeNanos, setTickPeriod } from "./time";
export { JsonResult, JsonType, JsonValue, jsonString, parseJson } from "./json";
export { base64Decode, base64Encode, base64UrlDecode, base64UrlEncode } from "./base64";
export { HmacSha256Key, constantTimeEqual, hmacSha256, sha256 } from "./sha256";
export { bytesOf, fromUtf8, utf8 } from "./memory";
export { ConfigErrors, ConfigObject } from "./config";
