// The README's error table, the registry and the gRPC/HTTP answers stay in step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ERROR_CODES, ERRORS } from '../../src/errors.js';
import { REPO } from '../helpers/bundles.js';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('\n## ', readme.indexOf('## Error codes') + 1));
const rows = [...section.matchAll(/^\| `([a-z0-9_]+)` \| [^|]+ \| ([^|]+) \|$/gm)].map(([, code, answer]) => [code!, answer!.trim()] as const);

t.test('every code is documented once, and nothing else is', async (t) => {
  t.same(rows.map(([c]) => c).sort(), [...ERROR_CODES].sort());
});

t.test('the Lua runtime reports only registry codes', async (t) => {
  const { LUA_ERROR_CODES } = await import('../../src/lua/index.js');
  for (const code of [...LUA_ERROR_CODES, 'lua_syntax_error']) t.ok(ERROR_CODES.includes(code as never), code);
});

t.test('documented HTTP statuses match the registry', async (t) => {
  for (const [code, answer] of rows) {
    const denied = /^denied, (\d{3})$/.exec(answer);
    if (denied) t.equal(ERRORS[code as keyof typeof ERRORS].http, Number(denied[1]), code);
  }
  t.ok(rows.some(([, a]) => a.startsWith('denied, ')), 'the table has denial rows to check');
});
