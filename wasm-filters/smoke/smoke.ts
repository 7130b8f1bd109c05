// Smallest proxy-wasm (ABI 0.2.1) HTTP filter that proves Envoy's V8 runtime
// loads an AssemblyScript module: it adds `x-wasm-smoke: v8` to every request.
// Built by test/e2e/envoy-smoke.test.ts with:
//   asc wasm-filters/smoke/smoke.ts -o build/wasm/smoke.wasm -O --runtime stub --use abort= --noAssert
// `--use abort=` drops the `env.abort` import: Envoy provides none, and an
// unresolved import makes the VM fail to start.
// ABI: https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1

const MAP_REQUEST_HEADERS: i32 = 0;
const ACTION_CONTINUE: i32 = 0;

@external("env", "proxy_add_header_map_value")
declare function proxy_add_header_map_value(
  mapType: i32,
  keyPtr: usize,
  keySize: usize,
  valuePtr: usize,
  valueSize: usize,
): i32;

// Header name and value as UTF-8 (AssemblyScript strings are UTF-16), encoded
// once per VM on first use so the module needs no start function.
let headerKey: ArrayBuffer | null = null;
let headerValue: ArrayBuffer | null = null;

/** Marks the module as speaking proxy-wasm ABI 0.2.1. */
export function proxy_abi_version_0_2_1(): void {}

/** Host asks the module for memory it will fill (header maps, buffers). */
export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): i32 {
  return 1;
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): i32 {
  return 1;
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: u32): i32 {
  if (headerKey === null) headerKey = String.UTF8.encode('x-wasm-smoke');
  if (headerValue === null) headerValue = String.UTF8.encode('v8');
  const key = headerKey!;
  const value = headerValue!;
  proxy_add_header_map_value(
    MAP_REQUEST_HEADERS,
    changetype<usize>(key),
    <usize>key.byteLength,
    changetype<usize>(value),
    <usize>value.byteLength,
  );
  return ACTION_CONTINUE;
}

export function proxy_on_done(contextId: u32): i32 {
  return 1;
}

export function proxy_on_log(contextId: u32): void {}

export function proxy_on_delete(contextId: u32): void {}
