import { LogLevel } from "./abi";
import { proxy_get_log_level, proxy_log } from "./imports";
import { RET_U32, utf8 } from "./memory";

/** Logs through the host (`proxy_log`): in Envoy, `wasm log <plugin> <root_id> <vm_id>: <message>`. */
export function log(level: LogLevel, message: string): void {
  const bytes = utf8(message);
  proxy_log(level, changetype<usize>(bytes), <usize>bytes.byteLength);
}

export function logTrace(message: string): void {
  log(LogLevel.Trace, message);
}
export function logDebug(message: string): void {
  log(LogLevel.Debug, message);
}
export function logInfo(message: string): void {
  log(LogLevel.Info, message);
}
export function logWarn(message: string): void {
  log(LogLevel.Warn, message);
}
export function logError(message: string): void {
  log(LogLevel.Error, message);
}
export function logCritical(message: string): void {
  log(LogLevel.Critical, message);
}

/** The host's current log level, so a filter can skip building messages nobody keeps. */
export function getLogLevel(): LogLevel {
  store<u32>(RET_U32, 0);
  if (proxy_get_log_level(RET_U32) != 0) return LogLevel.Info;
  return <LogLevel>load<u32>(RET_U32);
}

/**
 * Whether the host keeps a line at `level` right now. Ask once per request
 * and skip formatting when false: Envoy's level can change at runtime
 * (admin `/logging`), so a cached answer would go stale.
 */
export function logEnabled(level: LogLevel): bool {
  return level >= getLogLevel();
}
