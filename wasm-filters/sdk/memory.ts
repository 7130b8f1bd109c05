// Memory shared with the host. The host asks for memory through
// `proxy_on_memory_allocate` and writes results into it; the SDK copies the
// bytes into managed objects and frees the block right away, so nothing the
// host hands over outlives the call that asked for it.

// Out-parameters of host calls. Static slots are safe: while a host call
// runs, the host re-enters the module only to allocate, which never touches them.
export const RET_PTR: usize = memory.data(8, 8);
export const RET_SIZE: usize = memory.data(8, 8);
export const RET_U32: usize = memory.data(8, 8);
export const RET_U64: usize = memory.data(8, 8);

/** `proxy_on_memory_allocate` / `malloc`: raw memory outside the GC, freed by {@link takeReturnedBytes}. */
export function allocate(size: usize): usize {
  return heap.alloc(size);
}

/** Clears the out-parameter slots before a host call, so a refused call never leaves stale values behind. */
export function resetReturned(): void {
  store<usize>(RET_PTR, 0);
  store<usize>(RET_SIZE, 0);
}

/** Copies the bytes the host returned through RET_PTR/RET_SIZE and frees the host's block. */
export function takeReturnedBytes(): ArrayBuffer {
  const ptr = load<usize>(RET_PTR);
  const size: usize = ptr == 0 ? 0 : load<usize>(RET_SIZE);
  const out = new ArrayBuffer(<i32>size);
  if (ptr != 0) {
    memory.copy(changetype<usize>(out), ptr, size);
    heap.free(ptr);
  }
  resetReturned();
  return out;
}

/** UTF-8 bytes of a string (AssemblyScript strings are UTF-16; the ABI speaks bytes). */
export function utf8(text: string): ArrayBuffer {
  return String.UTF8.encode(text);
}

/** A string from UTF-8 bytes. */
export function fromUtf8(bytes: ArrayBuffer): string {
  return String.UTF8.decode(bytes);
}

/** Address of a buffer's first byte, for host calls. */
// @ts-ignore: decorator
@inline
export function ptrOf(bytes: ArrayBuffer): usize {
  return changetype<usize>(bytes);
}

/** UTF-8 bytes of a string as a Uint8Array view. */
export function bytesOf(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text));
}
