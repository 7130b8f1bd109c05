/**
 * Bounds-checked access to a module's linear memory. Every host function
 * goes through here, so a bad pointer or size becomes INVALID_MEMORY_ACCESS
 * instead of a JavaScript exception.
 */

/** Reads and writes one instance's memory; `alloc` calls the module's allocator. */
export class GuestMemory {
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly alloc: (size: number) => number,
  ) {}

  /** Size of the linear memory in bytes; it only grows, so it tracks the module's peak heap. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** The current bytes; a fresh view each time because memory.grow detaches the old buffer. */
  private view(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** True when [ptr, ptr+size) lies inside memory. Pointers arrive as signed i32 and are read unsigned. */
  inBounds(ptr: number, size: number): boolean {
    const p = ptr >>> 0;
    const s = size >>> 0;
    return p + s <= this.memory.buffer.byteLength;
  }

  /** A copy of `size` bytes at `ptr`, or undefined when out of bounds. */
  read(ptr: number, size: number): Uint8Array | undefined {
    if (!this.inBounds(ptr, size)) return undefined;
    const p = ptr >>> 0;
    return this.view().slice(p, p + (size >>> 0));
  }

  /** UTF-8 text at `ptr`, or undefined when out of bounds. */
  readString(ptr: number, size: number): string | undefined {
    const bytes = this.read(ptr, size);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }

  /** Writes raw bytes; false when out of bounds. */
  write(ptr: number, bytes: Uint8Array): boolean {
    if (!this.inBounds(ptr, bytes.length)) return false;
    this.view().set(bytes, ptr >>> 0);
    return true;
  }

  /** Writes a little-endian u32; false when out of bounds. */
  writeU32(ptr: number, value: number): boolean {
    if (!this.inBounds(ptr, 4)) return false;
    new DataView(this.memory.buffer).setUint32(ptr >>> 0, value >>> 0, true);
    return true;
  }

  /** Writes a little-endian u64; false when out of bounds. */
  writeU64(ptr: number, value: bigint): boolean {
    if (!this.inBounds(ptr, 8)) return false;
    new DataView(this.memory.buffer).setBigUint64(ptr >>> 0, BigInt.asUintN(64, value), true);
    return true;
  }

  /**
   * Envoy's copyToPointerSize: allocates `bytes.length` in the module, copies
   * them there and writes the pointer and size. Empty data writes 0 and 0
   * without allocating. False when an address is bad or allocation fails.
   */
  copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let pointer = 0;
    if (bytes.length > 0) {
      pointer = this.alloc(bytes.length) >>> 0;
      if (pointer === 0 || !this.inBounds(pointer, bytes.length)) return false;
      this.view().set(bytes, pointer);
    }
    return this.writeU32(ptrPtr, pointer) && this.writeU32(sizePtr, bytes.length);
  }
}
