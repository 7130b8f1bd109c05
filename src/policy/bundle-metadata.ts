/**
 * Writes what `iacdash build` records in a bundle beyond what `opa build`
 * does: the input paths the policy reads (policy/input-paths.ts), under the
 * manifest's `metadata` (OPA's place for free-form bundle facts), so the
 * bundle stays a valid OPA bundle. bundle.ts reads it back. The record
 * carries the hash of the wasm it was made for: a bundle rebuilt by other
 * means keeps the manifest, and stale paths would hide input from the policy.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import { METADATA_KEY, policySha256, untar } from './bundle.js';
import type { InputPaths } from './input-paths.js';

const BLOCK = 512;
const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/** One tar entry (a regular file), PAX-extended when its path is long. */
function tarEntry(path: string, bytes: Buffer, mtime: Date): Buffer {
  const data = { path, mode: 0o644, size: bytes.length, mtime, type: 'File' as const };
  const header = Buffer.alloc(BLOCK);
  const needsPax = new Header(data).encode(header);
  const parts = needsPax ? [new Pax(data).encode(), header] : [header];
  return Buffer.concat([...parts, bytes, Buffer.alloc(pad(bytes.length))]);
}

/** Rewrites the bundle's manifest with `update` (which may read the other files); every other file is kept as it was. */
export function rewriteManifest(
  bundle: Buffer,
  update: (manifest: Record<string, unknown>, files: ReadonlyMap<string, Buffer>) => Record<string, unknown>,
): Buffer {
  const files = untar(gunzipSync(bundle));
  const manifest = JSON.parse((files.get('/.manifest') ?? Buffer.from('{}')).toString('utf8')) as Record<string, unknown>;
  files.set('/.manifest', Buffer.from(JSON.stringify(update(manifest, files))));
  const mtime = new Date();
  const entries = [...files].map(([path, bytes]) => tarEntry(path, bytes, mtime));
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(2 * BLOCK)]));
}

/** The bundle with `input_paths` in its manifest's metadata (null: the policy reads input whole). */
export function recordInputPaths(bundle: Buffer, paths: InputPaths): Buffer {
  return rewriteManifest(bundle, (manifest, files) => {
    const wasm = files.get('/policy.wasm');
    if (!wasm) throw new Error('the bundle has no /policy.wasm');
    const record = { input_paths: paths ?? null, policy_sha256: policySha256(wasm) };
    return { ...manifest, metadata: { ...(manifest['metadata'] as Record<string, unknown> | undefined), [METADATA_KEY]: record } };
  });
}
