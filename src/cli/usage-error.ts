/** A command line that cannot run as written: `iacdash` prints the usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
