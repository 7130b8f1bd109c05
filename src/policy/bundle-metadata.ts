/**
 * What `iacdash build` records in a bundle beyond what `opa build` writes:
 * the input paths the policy reads (policy/input-paths.ts), under the
 * manifest's `metadata` (OPA's place for free-form bundle facts), so the
 * bundle stays a valid OPA bundle. A bundle without it gets the whole input.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import { BundleError, untar } from './bundle.js';
import type { InputPaths } from './input-paths.js';

/** The manifest `metadata` key we own. */
export const METADATA_KEY = 'iacdash';

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

/** Rewrites the bundle's manifest with `update`; every other file is kept as it was. */
export function rewriteManifest(bundle: Buffer, update: (manifest: Record<string, unknown>) => Record<string, unknown>): Buffer {
  const files = untar(gunzipSync(bundle));
  const manifest = JSON.parse((files.get('/.manifest') ?? Buffer.from('{}')).toString('utf8')) as Record<string, unknown>;
  files.set('/.manifest', Buffer.from(JSON.stringify(update(manifest))));
  const mtime = new Date();
  const entries = [...files].map(([path, bytes]) => tarEntry(path, bytes, mtime));
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(2 * BLOCK)]));
}

/** The bundle with `input_paths` in its manifest's metadata (null: the policy reads input whole). */
export function recordInputPaths(bundle: Buffer, paths: InputPaths): Buffer {
  return rewriteManifest(bundle, (manifest) => ({
    ...manifest,
    metadata: { ...(manifest['metadata'] as Record<string, unknown> | undefined), [METADATA_KEY]: { input_paths: paths ?? null } },
  }));
}

/** The recorded input paths: undefined when absent (or recorded as "all of input"); a BundleError when malformed. */
export function recordedInputPaths(manifest: Record<string, unknown>): InputPaths {
  const metadata = manifest['metadata'];
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const ours = (metadata as Record<string, unknown>)[METADATA_KEY];
  if (ours === undefined) return undefined;
  const paths = typeof ours === 'object' && ours !== null ? (ours as Record<string, unknown>)['input_paths'] : undefined;
  if (paths === null) return undefined;
  const valid = Array.isArray(paths) && paths.every((p) => Array.isArray(p) && p.length > 0 && p.every((k) => typeof k === 'string'));
  if (!valid) throw new BundleError(`/.manifest: metadata.${METADATA_KEY}.input_paths: must be a list of non-empty lists of keys (rebuild with iacdash build)`);
  return paths as string[][];
}
