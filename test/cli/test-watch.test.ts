// `iacdash test` with several paths, bad paths, and --watch, as a user runs it.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/bundles.js';
import { BIN, iacdash, lastLine, plainEnv, project } from './helpers.js';

t.test('paths: several projects, a missing folder, a folder with nothing to test, a bad flag', async (t) => {
  const two = iacdash(tempDir(), ['test', project(), project()]);
  t.equal(two.code, 0, 'both pass');
  t.equal(lastLine(two.stdout), '20 passed, 0 failed');
  const missing = iacdash(tempDir(), ['test', 'no-such-folder']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /iacdash test: no-such-folder: no such folder/);
  const empty = iacdash(tempDir(), ['test']);
  t.equal(empty.code, 1);
  t.match(empty.stderr, /\.: nothing to test: expected policies\/\*\*\/\*_test\.rego/);
  const flag = iacdash(tempDir(), ['test', '--reporter', 'xml']);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /unknown reporter "xml"/);
});

t.test('--watch runs again when a file changes', async (t) => {
  const dir = project();
  const child = spawn(process.execPath, [BIN, 'test', '--watch'], { cwd: dir, env: plainEnv() });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const summaries = (): string[] => stdout.split('\n').filter((l) => / passed, \d+ failed/.test(l));
  const waitFor = (ok: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const tick = setInterval(() => {
        if (ok()) {
          clearInterval(tick);
          resolve();
        }
      }, 100);
      child.once('exit', (code) => {
        clearInterval(tick);
        reject(new Error(`iacdash test --watch exited (${code}): ${stderr}`));
      });
    });
  await waitFor(() => stderr.includes('watching for changes'));
  t.same(summaries(), ['10 passed, 0 failed'], 'the first run');
  // Break a Lua fixture; write it again until the watcher has picked it up (its set-up is asynchronous).
  const fixture = join(dir, 'lua', 'fixtures', 'add-tenant', 'adds-public-tenant.yaml');
  const broken = readFileSync(fixture, 'utf8').replace('x-tenant: public', 'x-tenant: changed');
  const writer = setInterval(() => writeFileSync(fixture, broken), 500);
  t.teardown(() => clearInterval(writer));
  await waitFor(() => summaries().length >= 2);
  clearInterval(writer);
  t.equal(summaries()[1], '9 passed, 1 failed', 'the second run sees the change');
  t.match(stdout, /FAIL  lua     lua\/fixtures\/add-tenant\/adds-public-tenant\.yaml/);
  t.match(stderr, /change seen; running again/);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  t.equal(await exited, 1, 'on Ctrl-C it exits with the last run\'s code');
});
