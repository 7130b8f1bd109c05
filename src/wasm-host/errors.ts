/**
 * Errors of the local proxy-wasm host. A code names what went wrong the way
 * Envoy would report it, so a fixture failure reads like the Envoy failure it
 * predicts.
 */

/** What kind of failure a {@link WasmHostError} reports. */
export type WasmHostErrorCode =
  /** The bytes are not a module, or it lacks the ABI marker, memory or allocator. */
  | 'module_invalid'
  /** The module imports something Envoy does not provide (Envoy: the VM fails to start). */
  | 'import_unknown'
  /** `_initialize`/`_start`, `proxy_on_vm_start` or `proxy_on_configure` trapped or returned false (Envoy: "Unable to create Wasm plugin", the proxy does not start). */
  | 'start_failed'
  /** The host options or a fixture are invalid. */
  | 'options_invalid'
  /** The host itself failed; a bug, never the module's fault. */
  | 'host_internal';

/** A failure of the local host, with the module's log lines so far. */
export class WasmHostError extends Error {
  constructor(
    readonly code: WasmHostErrorCode,
    message: string,
    readonly logs: readonly string[] = [],
  ) {
    super(`${code}: ${message}`);
    this.name = 'WasmHostError';
  }
}
