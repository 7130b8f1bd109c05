/**
 * Result sets remembered per pruned input, for one engine: a policy whose
 * answer depends only on the input it reads and its bundle answers that
 * input the same way every time. A new bundle is a new engine, so it starts
 * empty. Bounded by entries, least recently used out first, and by key
 * length, so a large body is evaluated rather than kept.
 */
/** Longest key (the pruned input's JSON, in UTF-16 units) worth keeping. */
export const MAX_KEY_LENGTH = 4096;

type ResultSet = { result: unknown }[];

export class DecisionCache {
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used first.
  private readonly entries = new Map<string, ResultSet>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The remembered result set, or undefined. Callers must not mutate it: it answers later requests too. */
  get(key: string): ResultSet | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  /** Remembers a result set; false when the key is too long to keep. */
  set(key: string, results: ResultSet): boolean {
    if (key.length > MAX_KEY_LENGTH) return false;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, results);
    return true;
  }
}
