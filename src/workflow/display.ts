/** Paths as the user should read them: relative to the folder they ran the command in. */
import { relative } from 'node:path';

/** `abs` relative to the current folder (`.` for the folder itself). */
export function display(abs: string): string {
  return relative(process.cwd(), abs) || '.';
}
