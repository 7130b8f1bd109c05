// `iacdash eval` usage errors, as a user meets them: an unknown engine or conflicting flags exit 2 with the usage.
import { join } from 'node:path';
import t from 'tap';
import { iacdashAsync, type Run, inTurn } from './helpers.js';
import { ensureFilter } from '../../wasm-filters/build.mjs';
import { buildBundle, FIXTURES, REPO, tempDir } from '../helpers/bundles.js';

const EVAL = join(FIXTURES, 'eval');

const iacdash = (...args: string[]): Promise<Run> => iacdashAsync(['eval', ...args]);


const dir = tempDir('iacdash-eval-');
const bundle = buildBundle(join(REPO, 'policies'), join(dir, 'policies.tar.gz'));
const customAuth = (await ensureFilter('custom-auth')).path;

t.test('an unknown engine and conflicting flags are usage errors (exit 2)', async (t) => {
  const script = join(REPO, 'lua', 'authentication.lua');
  const fixture = join(EVAL, 'lua-request.yaml');
  const cases: Array<[string[], RegExp]> = [
    [['--engine', 'perl', '--request', fixture], /unknown engine "perl" \(expected authz, lua or wasm\)/],
    [['--lua', script, '--wasm', customAuth, '--request', fixture], /--lua and --wasm conflict/],
    [['--bundle', bundle, '--lua', script, '--request', fixture], /--bundle and --lua conflict/],
    [['--engine', 'wasm', '--lua', script, '--request', fixture], /--engine wasm conflicts with --lua/],
    [['--engine', 'lua', '--request', fixture], /--engine lua needs --lua FILE/],
    [['--bundle', bundle, '--phase', 'request', '--request', fixture], /--phase applies to --lua only/],
    [['--lua', script, '--phase', 'both', '--request', fixture], /--phase must be request or response/],
    [['--lua', script, '--config', '{}', '--request', fixture], /--config applies to --bundle .* or --wasm/],
    [['--lua', script], /--request FILE is required/],
  ];
  const runs = await inTurn(cases.map(([args]) => () => iacdash(...args)));
  cases.forEach(([args, message], i) => {
    t.equal(runs[i]!.code, 2, args.join(' '));
    t.match(runs[i]!.stderr, message);
    t.match(runs[i]!.stderr, /Usage:/);
  });
});
