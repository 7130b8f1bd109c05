/**
 * Reads an OPA bundle built by `opa build -t wasm` (a gzipped tarball with
 * `/policy.wasm`, `/data.json` and `/.manifest`) and checks that it is one we
 * can serve. Every refusal names what is wrong.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Parser } from 'tar';
import type { InputPaths } from './input-paths.js';

/** A bundle's parts, validated. */
export interface Bundle {
  readonly wasm: Buffer;
  /** `/data.json` as raw JSON text, handed to the policy without a parse. */
  readonly dataJson: Buffer;
  readonly revision: string;
  readonly entrypoints: readonly string[];
  readonly manifest: Record<string, unknown>;
  /** What of the input the policy reads, as `iacdash build` recorded it; undefined: all of it. */
  readonly inputPaths: InputPaths;
}

/** Thrown for a corrupt or incompatible bundle. */
export class BundleError extends Error {
  override name = 'BundleError';
}

/** The manifest `metadata` key `iacdash build` writes (see bundle-metadata.ts). */
export const METADATA_KEY = 'iacdash';

const MAX_ENTRY_BYTES = 256 * 1024 * 1024;

/** The hash that ties a recorded input-path list to the wasm it was made for. */
export function policySha256(wasm: Buffer): string {
  return createHash('sha256').update(wasm).digest('hex');
}

/** Unpacks a tarball held in memory into path → bytes. */
export function untar(tarball: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      let size = 0;
      entry.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ENTRY_BYTES) chunks.push(c);
      });
      entry.on('end', () => {
        if (entry.type === 'File' || entry.type === 'OldFile') files.set(`/${entry.path.replace(/^\.?\/+/, '')}`, Buffer.concat(chunks));
      });
    },
  });
  let failure: Error | undefined;
  parser.on('warn', (_code: string, message: string | Error) => {
    failure ??= new BundleError(`not a valid tar archive: ${message instanceof Error ? message.message : message}`);
  });
  parser.on('error', (err: Error) => {
    failure ??= new BundleError(`not a valid tar archive: ${err.message}`);
  });
  parser.end(tarball);
  if (failure) throw failure;
  return files;
}

/** Parses and validates a bundle; `entrypoint` must be one of its wasm entrypoints. */
export function readBundle(bytes: Buffer, entrypoint: string): Bundle {
  let tarball: Buffer;
  try {
    tarball = gunzipSync(bytes);
  } catch (err) {
    throw new BundleError(`not a gzip file: ${(err as Error).message}`);
  }
  const files = untar(tarball);
  const manifestBytes = files.get('/.manifest');
  let manifest: Record<string, unknown> = {};
  if (manifestBytes) {
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new BundleError(`/.manifest is not JSON: ${(err as Error).message}`);
    }
  }
  const modules = Array.isArray(manifest['wasm']) ? (manifest['wasm'] as { entrypoint?: string; module?: string }[]) : [];
  const modulePaths = new Set(modules.map((m) => m.module ?? '/policy.wasm'));
  if (modulePaths.size > 1) {
    throw new BundleError(`holds ${modulePaths.size} wasm modules (${[...modulePaths].join(', ')}); build one module with every entrypoint`);
  }
  const modulePath = modulePaths.values().next().value ?? '/policy.wasm';
  const wasm = files.get(modulePath);
  if (!wasm) {
    throw new BundleError(`has no ${modulePath}; build it with \`opa build -t wasm\` (\`iacdash build\`), not the default rego target`);
  }
  if (!WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) throw new BundleError(`${modulePath} is not a valid WebAssembly module`);
  const entrypoints = modules.map((m) => m.entrypoint).filter((e): e is string => typeof e === 'string');
  if (entrypoints.length > 0 && !entrypoints.includes(entrypoint)) {
    throw new BundleError(`has no entrypoint ${entrypoint} (it has: ${entrypoints.join(', ')}); rebuild with -e ${entrypoint}`);
  }
  const dataJson = files.get('/data.json') ?? Buffer.from('{}');
  try {
    JSON.parse(dataJson.toString('utf8'));
  } catch (err) {
    throw new BundleError(`/data.json is not JSON: ${(err as Error).message}`);
  }
  const revision = typeof manifest['revision'] === 'string' ? manifest['revision'] : '';
  return { wasm, dataJson, revision, entrypoints, manifest, inputPaths: recordedInputPaths(manifest, wasm) };
}

/**
 * The input paths `iacdash build` recorded for this wasm: undefined when
 * absent, recorded as "all of input", or recorded for another wasm (the
 * policy was rebuilt without iacdash); a BundleError when malformed.
 */
export function recordedInputPaths(manifest: Record<string, unknown>, wasm: Buffer): InputPaths {
  const metadata = manifest['metadata'];
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const ours = (metadata as Record<string, unknown>)[METADATA_KEY];
  if (ours === undefined) return undefined;
  const paths = typeof ours === 'object' && ours !== null ? (ours as Record<string, unknown>)['input_paths'] : undefined;
  if (paths === null) return undefined;
  const valid = Array.isArray(paths) && paths.every((p) => Array.isArray(p) && p.length > 0 && p.every((k) => typeof k === 'string'));
  if (!valid) throw new BundleError(`/.manifest: metadata.${METADATA_KEY}.input_paths: must be a list of non-empty lists of keys (rebuild with iacdash build)`);
  return (ours as Record<string, unknown>)['policy_sha256'] === policySha256(wasm) ? (paths as string[][]) : undefined;
}
