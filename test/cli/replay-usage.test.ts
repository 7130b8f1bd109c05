// `iacdash replay` usage errors, as a user meets them: exit 2 with the usage.
import { join } from 'node:path';
import t from 'tap';
import { iacdashAsync, type Run, inTurn } from './helpers.js';
import { buildBundle, FIXTURES, tempDir } from '../helpers/bundles.js';

const REPLAY = join(FIXTURES, 'replay');

const iacdash = iacdashAsync;


const dir = tempDir('iacdash-replay-bad-');
const bundle = buildBundle(join(REPLAY, 'current'), join(dir, 'current.tar.gz'));
const good = join(REPLAY, 'bad-not-json.jsonl'); // lines 1 and 3 are good entries


t.test('usage errors exit 2 with the usage', async (t) => {
  const usage: Array<[string[], RegExp]> = [
    [['replay', good], /--bundle CANDIDATE\.tar\.gz is required/],
    [['replay', '--bundle', bundle], /at least one DECISION_LOG/],
    [['replay', '--bundle', bundle, '--format', 'xml', good], /--format must be table or json/],
    [['replay', '--bundle', bundle, '--threshold', 'lots', good], /--threshold must be a count \(5\) or a percentage/],
    [['replay', '--bundle', bundle, '--max-flips', '1.5', good], /--max-flips must be a whole number/],
    [['replay', '--bundle', bundle, '--max-flips', '1', '--threshold', '1%', good], /not both/],
    [['replay', '--bundle', bundle, '--no-such-flag', good], /no-such-flag/],
  ];
  const runs = await inTurn(usage.map(([args]) => () => iacdash(args)));
  usage.forEach(([args, message], i) => {
    t.equal(runs[i]!.code, 2, args.join(' '));
    t.match(runs[i]!.stderr, message);
    t.match(runs[i]!.stderr, /Usage:/);
  });
});
