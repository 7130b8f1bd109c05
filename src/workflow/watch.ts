/**
 * `--watch`: rerun when a file under a project changes. Node 20's recursive
 * fs.watch works on Linux (it also follows folders created later); where it
 * is unavailable we poll modification times.
 */
import { watch, readdirSync, statSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/** Stops watching. */
export type StopWatching = () => void;

const POLL_MS = 500;

function signature(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const p = join(d, name);
      try {
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else parts.push(`${p}:${st.mtimeMs}:${st.size}`);
      } catch {
        // removed while walking
      }
    }
  };
  walk(dir);
  return parts.sort().join('\n');
}

/**
 * Calls `onChange` (debounced by `debounceMs`) after changes under any of
 * `dirs`. Hidden files and node_modules are ignored (editors' swap files).
 */
export function watchFolders(dirs: readonly string[], onChange: () => void, debounceMs = 200): StopWatching {
  let timer: NodeJS.Timeout | undefined;
  const changed = (file?: string | null): void => {
    if (file && file.split(/[\\/]/).some((part) => part.startsWith('.') || part === 'node_modules')) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  try {
    for (const d of dirs) watchers.push(watch(d, { recursive: true }, (_event, file) => changed(file)));
  } catch {
    for (const w of watchers) w.close();
    let last = dirs.map(signature).join('\n');
    const poll = setInterval(() => {
      const now = dirs.map(signature).join('\n');
      if (now !== last) {
        last = now;
        changed();
      }
    }, POLL_MS);
    return () => {
      clearInterval(poll);
      clearTimeout(timer);
    };
  }
  return () => {
    for (const w of watchers) w.close();
    clearTimeout(timer);
  };
}
