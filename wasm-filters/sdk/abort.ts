// Replaces AssemblyScript's `abort` (built with `--use abort=wasm-filters/sdk/abort/sdkAbort`):
// Envoy provides no `env.abort`, so the default would stop the module from
// loading. The message goes to the host log at critical level, then the
// module traps and the host applies its failure policy.
import { proxy_log } from "./imports";

export function sdkAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const bytes = String.UTF8.encode(text);
  proxy_log(5, changetype<usize>(bytes), <usize>bytes.byteLength);
  unreachable();
}
