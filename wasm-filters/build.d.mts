// Types for build.mjs, so TypeScript tests can call the same build functions.

/** One built module. */
export interface BuiltFilter {
  name: string;
  /** Absolute path of the .wasm. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** The asc command, or "(up to date)". */
  command: string;
}

export declare const REPO_ROOT: string;
export declare const FILTERS_DIR: string;
export declare const TEST_FILTERS_DIR: string;
export declare const EXAMPLES_DIR: string;
export declare const SDK_DIR: string;
export declare const OUT_DIR: string;
export declare const ASC_FLAGS: readonly string[];
export declare function listFilters(dir?: string): Promise<string[]>;
/** Which folder a module comes from: filters/ (default), test-filters/ or examples/. */
export interface FilterKind {
  test?: boolean;
  example?: boolean;
}
export declare function outputPath(name: string, kind?: FilterKind): string;
export declare function buildFilter(name: string, kind?: FilterKind): Promise<BuiltFilter>;
export declare function ensureFilter(name: string, kind?: FilterKind): Promise<BuiltFilter>;
export declare function buildAll(names?: string[], options?: { withTests?: boolean }): Promise<BuiltFilter[]>;
