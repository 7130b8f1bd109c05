// `iacdash eval` on bad input, as a user runs it: a missing or malformed file exits 1 naming the file
// (and the line or key); usage errors are in eval-usage.test.ts. Each malformed-file case has its own fixture under test/fixtures/eval/.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { inTurn } from './helpers.js';
import { bundle, customAuth, dir, EVAL, EXAMPLES, iacdash, WASM_FIXTURES } from './eval-setup.js';
import { REPO } from '../helpers/bundles.js';

t.test('a missing file exits 1 naming the file', async (t) => {
  const missing = join(dir, 'missing');
  const fixture = join(EVAL, 'lua-request.yaml');
  const cases: Array<[string[], RegExp]> = [
    [['--lua', `${missing}.lua`, '--request', fixture], /missing\.lua: no such file \(the Lua script\)/],
    [['--lua', join(REPO, 'lua', 'authentication.lua'), '--request', `${missing}.yaml`], /missing\.yaml: no such file \(the Lua fixture\)/],
    [['--wasm', `${missing}.wasm`, '--request', join(WASM_FIXTURES, 'api-key-allowed.json')], /missing\.wasm: no such file \(the wasm filter\)/],
    [['--wasm', customAuth, '--request', join(WASM_FIXTURES, 'api-key-allowed.json'), '--config', `${missing}.json`], /missing\.json: no such file \(the plugin configuration\)/],
    [['--bundle', `${missing}.tar.gz`, '--request', join(EXAMPLES, 'alice-get-allowed.jsonc')], /missing\.tar\.gz: no such file \(the policy bundle\)/],
    [['--bundle', bundle, '--request', `${missing}.json`], /missing\.json: no such file \(the CheckRequest\)/],
  ];
  const runs = await inTurn(cases.map(([args]) => () => iacdash(...args)));
  cases.forEach(([args, message], i) => {
    t.equal(runs[i]!.code, 1, args.join(' '));
    t.match(runs[i]!.stderr, message);
  });
});

t.test('a malformed file exits 1 naming the file, and the line or key', async (t) => {
  const authScript = join(REPO, 'lua', 'authentication.lua');
  // Written here, not committed: no .wasm file is tracked in git, not even a fake one.
  const notAModule = join(dir, 'not-a-module.wasm');
  writeFileSync(notAModule, 'This text file is not a WebAssembly module.\n');
  const cases: Array<[string[], RegExp]> = [
    [['--lua', authScript, '--request', join(EVAL, 'lua-not-yaml.yaml')], /lua-not-yaml\.yaml:4:3: not YAML: Flow sequence/],
    [['--lua', authScript, '--request', join(EVAL, 'lua-unknown-key.yaml')], /lua-unknown-key\.yaml: request: Unrecognized key: "bdy"/],
    [['--lua', authScript, '--request', join(EVAL, 'lua-no-phase.yaml')], /lua-no-phase\.yaml: has no request or response phase to run/],
    [['--lua', authScript, '--request', join(EVAL, 'lua-response-only.yaml'), '--phase', 'request'], /lua-response-only\.yaml: has no request phase to run/],
    [['--lua', join(EVAL, 'lua-syntax-error.lua'), '--request', join(EVAL, 'lua-request.yaml')], /lua-syntax-error\.lua:4: '\)' expected/],
    [['--bundle', bundle, '--request', join(EVAL, 'check-not-json.json')], /check-not-json\.json:4:57: not JSON: Expected double-quoted property name$/m],
    [['--wasm', customAuth, '--request', join(EVAL, 'wasm-not-json.json')], /wasm-not-json\.json:3:32: not JSON: Expected ',' or '}'/],
    [['--wasm', customAuth, '--request', join(EVAL, 'wasm-unknown-key.json')], /wasm-unknown-key\.json: request: Unrecognized key: "methd"/],
    [['--wasm', notAModule, '--request', join(WASM_FIXTURES, 'api-key-allowed.json')], /not-a-module\.wasm: module_invalid: not a WebAssembly module/],
    [['--wasm', customAuth, '--request', join(WASM_FIXTURES, 'api-key-allowed.json'), '--config', '{"nope":1}'], /custom-auth\.wasm: the plugin did not start: .*\n.*unknown key "nope"/],
  ];
  const runs = await inTurn(cases.map(([args]) => () => iacdash(...args)));
  cases.forEach(([args, message], i) => {
    t.equal(runs[i]!.code, 1, args.join(' '));
    t.match(runs[i]!.stderr, message, args.join(' '));
  });
});
