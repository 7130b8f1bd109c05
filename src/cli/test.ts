/** `iacdash test [PATH...]`: every test of one or more policy projects; see src/workflow/. */
import { parseArgs } from 'node:util';
import { DiscoveryError, plan, type ProjectPlan, REPORTERS, runTests, wantsColor, watchFolders, type ReporterName, type RunOptions } from '../workflow/index.js';
import { UsageError } from './usage-error.js';

/** Runs the tests once, or until interrupted with `--watch`; returns the exit code. */
export async function testCli(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { reporter: { type: 'string', short: 'r' }, watch: { type: 'boolean', short: 'w' } },
  });
  // A reader that goes away (`| head`) ends the run quietly, as other CLI tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 1);
    throw err;
  });
  const reporter = (values.reporter ?? 'human') as ReporterName;
  if (!REPORTERS.includes(reporter)) throw new UsageError(`test: unknown reporter ${JSON.stringify(values.reporter)} (expected human, tap or junit)`);
  const opts: RunOptions = {
    paths: positionals,
    reporter,
    color: reporter === 'human' && wantsColor(process.stdout.isTTY),
    write: (text) => process.stdout.write(text),
    note: (text) => process.stderr.write(text),
  };
  let plans: ProjectPlan[];
  try {
    plans = plan(opts.paths);
  } catch (err) {
    if (err instanceof DiscoveryError) {
      process.stderr.write(`iacdash test: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  let { code } = await runTests(opts, plans);
  if (!values.watch) return code;
  return new Promise<number>((resolveExit) => {
    let running = false;
    let again = false;
    const rerun = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      do {
        again = false;
        process.stderr.write(`\n[${new Date().toISOString()}] change seen; running again\n`);
        try {
          ({ code } = await runTests(opts));
        } catch (err) {
          process.stderr.write(`iacdash test: ${(err as Error).message}\n`);
          code = 1;
        }
      } while (again);
      running = false;
      process.stderr.write('watching for changes (Ctrl-C to stop)\n');
    };
    const stop = watchFolders(
      plans.map((p) => p.root),
      () => void rerun(),
    );
    process.stderr.write('watching for changes (Ctrl-C to stop)\n');
    const quit = (): void => {
      stop();
      resolveExit(code);
    };
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
  });
}
