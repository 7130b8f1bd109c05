// Every fixture in lua/fixtures/<script>/ passes against lua/<script>.lua:
// the example scripts do what their fixtures say, through the same runner
// policy authors use.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runFixture } from '../../../src/lua/fixtures.js';
import { LuaScript } from '../../../src/lua/index.js';

const LUA = fileURLToPath(new URL('../../../lua/', import.meta.url));
const scripts = readdirSync(join(LUA, 'fixtures'));

t.same(scripts.sort(), ['authentication', 'request-transformation', 'response-transformation'], 'each example script has fixtures');

for (const script of scripts) {
  t.test(script, async (t) => {
    const files = readdirSync(join(LUA, 'fixtures', script)).filter((f) => /\.(ya?ml|json)$/.test(f));
    t.ok(files.length >= 5, `${script} has at least 5 fixtures`);
    // A generous time budget: fixtures check behaviour, and a cold VM on a busy machine is slow.
    const compiled = LuaScript.compile(readFileSync(join(LUA, `${script}.lua`)), `${script}.lua`, { maxMillis: 20_000 });
    for (const file of files) {
      const r = runFixture(compiled, join(LUA, 'fixtures', script, file));
      t.same(r.diff, [], file);
      t.ok(r.pass, file);
    }
  });
}
