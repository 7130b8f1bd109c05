// Our list of non-deterministic builtins is OPA's, read from the pinned OPA's capabilities.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { NONDETERMINISTIC_BUILTINS } from '../../../../src/policy/builtins/nondeterministic.js';
import { toolPath } from '../../../../src/tools/locate.js';

t.test('NONDETERMINISTIC_BUILTINS is what opa capabilities marks nondeterministic', async (t) => {
  const caps = JSON.parse(execFileSync(toolPath('opa'), ['capabilities', '--current'], { encoding: 'utf8' })) as { builtins: { name: string; nondeterministic?: boolean }[] };
  const opa = caps.builtins.filter((b) => b.nondeterministic === true).map((b) => b.name).sort();
  t.ok(opa.includes('time.now_ns'), 'OPA marks time.now_ns');
  t.same([...NONDETERMINISTIC_BUILTINS].sort(), opa);
});
