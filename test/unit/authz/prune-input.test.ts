// The Authorizer hands the policy only the recorded input paths (authz.prune_input, on by default), and that
// changes no decision of the example bundle.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Authorizer } from '../../../src/authz/authorizer.js';
import { buildBundle as iacdashBuild } from '../../../src/cli/build.js';
import { readCheckRequest } from '../../../src/cli/eval.js';
import { parseConfig } from '../../../src/config/load.js';
import { rewriteManifest } from '../../../src/policy/bundle-metadata.js';
import { createPolicyStore } from '../../../src/server/server.js';
import { Logger } from '../../../src/telemetry/log.js';
import { FIXTURES, REPO, tempDir } from '../../helpers/bundles.js';

const dir = tempDir();
const quiet = { diagnostics: () => {} };
const EXAMPLES = join(REPO, 'policies', 'examples');

async function authorizer(bundle: string, prune: boolean): Promise<Authorizer> {
  const config = parseConfig(`bundle:\n  path: ${JSON.stringify(bundle)}\nauthz:\n  prune_input: ${prune}\n`, 'test.yaml');
  const store = createPolicyStore(config);
  await store.reload();
  return new Authorizer(store, config, new Logger('warn', [], () => {}));
}

t.test('the example bundle decides every example the same with and without pruning', async (t) => {
  const bundle = join(dir, 'examples.tar.gz');
  t.equal(iacdashBuild({ dirs: [join(REPO, 'policies')], output: bundle, entrypoints: [], ...quiet }), 0);
  const pruned = await authorizer(bundle, true);
  const whole = await authorizer(bundle, false);
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.jsonc'));
  t.ok(files.length >= 4);
  for (const file of files) {
    const a = pruned.check(readCheckRequest(join(EXAMPLES, file)));
    const b = whole.check(readCheckRequest(join(EXAMPLES, file)));
    t.equal(a.kind, 'response', file);
    if (a.kind !== 'response' || b.kind !== 'response') continue;
    // Decision ids differ per call; everything else must not.
    const strip = (r: typeof a.response): unknown => ({ ...r, dynamicMetadata: { ...r.dynamicMetadata, fields: { ...r.dynamicMetadata?.fields, decision_id: undefined } } });
    t.same(strip(a.response), strip(b.response), file);
  }
});

t.test('only the recorded paths reach the policy; prune_input: false sends everything', async (t) => {
  const built = join(dir, 'echo.tar.gz');
  t.equal(iacdashBuild({ dirs: [join(FIXTURES, 'prune-input')], output: built, entrypoints: [], ...quiet }), 0);
  // Record less than the policy reads: what the policy then sees shows which input it got.
  const narrowed = join(dir, 'narrowed.tar.gz');
  writeFileSync(narrowed, rewriteManifest(readFileSync(built), (m) => {
    const recorded = (m['metadata'] as { iacdash: Record<string, unknown> }).iacdash;
    return { ...m, metadata: { iacdash: { ...recorded, input_paths: [['parsed_path']] } } };
  }));
  const request = join(EXAMPLES, 'alice-get-allowed.jsonc');
  const method = async (bundle: string, prune: boolean): Promise<unknown> => {
    const outcome = (await authorizer(bundle, prune)).check(readCheckRequest(request));
    if (outcome.kind !== 'response') return outcome;
    const headers = outcome.response.okResponse?.['headers'] as { header: { key: string; value: string } }[] | undefined;
    return headers?.find((h) => h.header.key === 'x-method')?.header.value;
  };
  t.equal(await method(built, true), 'GET', 'the paths iacdash build recorded include the method');
  t.equal(await method(narrowed, true), '<absent>', 'a path not recorded does not reach the policy');
  t.equal(await method(narrowed, false), 'GET', 'prune_input: false sends the whole input');
});
