/**
 * The WASI calls Envoy links for every module, as proxy-wasm-cpp-host
 * implements them: stdout and stderr go to the log (info and error), time is
 * the host clock, and there are no files, arguments or environment.
 */
import { randomFillSync } from 'node:crypto';
import type { Vm } from './vm.js';

type Fn = (...args: never[]) => number | void;

/** `wasi_snapshot_preview1` (and `wasi_unstable`) functions for `vmRef`'s VM. */
export function wasiImports(vmRef: () => Vm): Record<string, Fn> {
  const ctx = () => vmRef().activeContext();
  const mem = () => vmRef().memory;
  return {
    fd_write: (fd: number, iovs: number, iovsLen: number, writtenPtr: number): number => {
      const level = fd === 1 ? 2 : fd === 2 ? 4 : -1;
      if (level < 0) return 8; // EBADF
      const parts: Uint8Array[] = [];
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const iov = mem().read(iovs + i * 8, 8);
        if (!iov) return 21; // EFAULT
        const view = new DataView(iov.buffer, iov.byteOffset, 8);
        const chunk = mem().read(view.getUint32(0, true), view.getUint32(4, true));
        if (!chunk) return 21;
        parts.push(chunk);
      }
      const text = Buffer.concat(parts);
      if (text.length > 0) {
        vmRef().services.log(level, text.toString('utf8').replace(/\n$/, ''), ctx()?.id ?? 0, 'module');
      }
      return mem().writeU32(writtenPtr, text.length) ? 0 : 21;
    },
    fd_read: (): number => 52, // ENOSYS
    fd_seek: (): number => 0,
    fd_close: (): number => 0,
    fd_fdstat_get: (fd: number, statPtr: number): number => {
      if (fd !== 1 && fd !== 2) return 8;
      return mem().writeU64(statPtr, 0n) && mem().writeU64(statPtr + 8, 64n) && mem().writeU64(statPtr + 16, 0n) ? 0 : 21;
    },
    environ_get: (): number => 0,
    environ_sizes_get: (countPtr: number, sizePtr: number): number => (mem().writeU32(countPtr, 0) && mem().writeU32(sizePtr, 0) ? 0 : 21),
    args_get: (): number => 0,
    args_sizes_get: (argcPtr: number, sizePtr: number): number => (mem().writeU32(argcPtr, 0) && mem().writeU32(sizePtr, 0) ? 0 : 21),
    clock_time_get: (clockId: number, _precision: bigint, timePtr: number): number => {
      if (clockId !== 0) return 58; // ENOTSUP
      return mem().writeU64(timePtr, vmRef().services.clock()) ? 0 : 21;
    },
    random_get: (ptr: number, size: number): number => {
      if (!mem().inBounds(ptr, size)) return 21;
      return mem().write(ptr, randomFillSync(new Uint8Array(size >>> 0))) ? 0 : 21;
    },
    proc_exit: (): void => {
      vmRef().services.log(4, 'wasi proc_exit', ctx()?.id ?? 0, 'host');
    },
  };
}
