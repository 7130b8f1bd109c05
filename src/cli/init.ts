/** `iacdash init DIR`: scaffolds a policy project; see src/workflow/template.ts. */
import { parseArgs } from 'node:util';
import { InitError, scaffold } from '../workflow/index.js';
import { UsageError } from './usage-error.js';

/** Writes the project and says what to do next; returns the exit code. */
export function initCli(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('init: give exactly one DIR');
  const dir = positionals[0] as string;
  let files: string[];
  try {
    files = scaffold(dir);
  } catch (err) {
    if (err instanceof InitError) {
      process.stderr.write(`iacdash init: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`${files.map((f) => `  ${f}`).join('\n')}\nwrote ${files.length} files to ${dir}; next: cd ${dir} && iacdash test\n`);
  return 0;
}
