// Shared data and queues: state shared by every VM with the same vm_id on a
// host (in Envoy, across worker threads).
import { WasmResult } from "./abi";
import {
  proxy_dequeue_shared_queue,
  proxy_enqueue_shared_queue,
  proxy_get_shared_data,
  proxy_register_shared_queue,
  proxy_resolve_shared_queue,
  proxy_set_shared_data,
} from "./imports";
import { ptrOf, resetReturned, RET_PTR, RET_SIZE, RET_U32, takeReturnedBytes, utf8 } from "./memory";

/** A shared value and its compare-and-swap token. */
export class SharedValue {
  constructor(public readonly value: ArrayBuffer, public readonly cas: u32) {}
}

/** Reads a shared value; null when the key is missing. */
export function getSharedData(key: string): SharedValue | null {
  const k = utf8(key);
  resetReturned();
  store<u32>(RET_U32, 0);
  if (proxy_get_shared_data(ptrOf(k), <usize>k.byteLength, RET_PTR, RET_SIZE, RET_U32) != WasmResult.Ok) return null;
  const cas = load<u32>(RET_U32);
  return new SharedValue(takeReturnedBytes(), cas);
}

/** Writes a shared value; a non-zero `cas` must match or the result is CasMismatch. */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32 = 0): WasmResult {
  const k = utf8(key);
  return <WasmResult>proxy_set_shared_data(ptrOf(k), <usize>k.byteLength, ptrOf(value), <usize>value.byteLength, cas);
}

/** Registers (or opens) a queue owned by this VM; returns its id, 0 on failure. onQueueReady fires on the root context. */
export function registerSharedQueue(name: string): u32 {
  const n = utf8(name);
  store<u32>(RET_U32, 0);
  if (proxy_register_shared_queue(ptrOf(n), <usize>n.byteLength, RET_U32) != WasmResult.Ok) return 0;
  return load<u32>(RET_U32);
}

/** Finds a queue registered by the VM `vmId`; 0 when missing. */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  const v = utf8(vmId);
  const n = utf8(name);
  store<u32>(RET_U32, 0);
  if (proxy_resolve_shared_queue(ptrOf(v), <usize>v.byteLength, ptrOf(n), <usize>n.byteLength, RET_U32) != WasmResult.Ok) return 0;
  return load<u32>(RET_U32);
}

export function enqueueSharedQueue(queueId: u32, value: ArrayBuffer): WasmResult {
  return <WasmResult>proxy_enqueue_shared_queue(queueId, ptrOf(value), <usize>value.byteLength);
}

/** The next item, or null when the queue is empty or missing. */
export function dequeueSharedQueue(queueId: u32): ArrayBuffer | null {
  resetReturned();
  if (proxy_dequeue_shared_queue(queueId, RET_PTR, RET_SIZE) != WasmResult.Ok) return null;
  return takeReturnedBytes();
}
