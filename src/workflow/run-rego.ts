/**
 * Rego unit tests through real `opa test --format=json --var-values`, one
 * case per test rule. A failing test is explained by the expression that
 * failed (from OPA's trace), the values of the test's variables there, and
 * what it printed. https://www.openpolicyagent.org/docs/policy-testing
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { toolPath } from '../tools/locate.js';
import { display } from './display.js';
import type { CaseResult, DetailLine } from './types.js';

/** One entry of `opa test --format=json`. */
interface OpaTestResult {
  location?: { file: string; row: number; col: number };
  package: string;
  name: string;
  fail?: boolean;
  skip?: boolean;
  error?: { code?: string; message?: string; location?: { file: string; row: number } };
  duration?: number;
  output?: string;
  trace?: TraceEvent[];
}

interface TraceEvent {
  Op: string;
  QueryID?: number;
  Location?: { file: string; row: number; col: number };
  Locals?: Array<{ name: string; type: string; value: unknown }>;
  LocalMetadata?: Record<string, { name: string }>;
}

/** Rego AST term (`{type, value}`) → the JSON value it denotes; refs and vars as their text. */
export function termToJson(type: string, value: unknown): unknown {
  switch (type) {
    case 'array':
    case 'set':
      return (value as Array<{ type: string; value: unknown }>).map((t) => termToJson(t.type, t.value));
    case 'object':
      return Object.fromEntries(
        (value as Array<[{ type: string; value: unknown }, { type: string; value: unknown }]>).map(([k, v]) => {
          const key = termToJson(k.type, k.value);
          return [typeof key === 'string' ? key : JSON.stringify(key), termToJson(v.type, v.value)];
        }),
      );
    case 'ref':
      return (value as Array<{ type: string; value: unknown }>)
        .map((t, i) => {
          if (i === 0) return String(t.value);
          if (t.type === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(t.value as string)) return `.${t.value as string}`;
          return `[${JSON.stringify(termToJson(t.type, t.value))}]`;
        })
        .join('');
    default:
      return value;
  }
}

function sourceLine(file: string, row: number): string | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n')[row - 1]?.trim();
  } catch {
    return undefined;
  }
}

/** The failing expression, the variables bound there, and the test's print output. */
export function explainFailure(result: OpaTestResult, resolveFile: (f: string) => string): DetailLine[] {
  const details: DetailLine[] = [];
  // The test body's own query: the one entered at the test rule's location. Its
  // Fail is the expression of the test that did not hold (inner Fails are the
  // rules it called, which may fail on the way to the right answer).
  const trace = result.trace ?? [];
  const at = result.location;
  const body = trace.find((e) => e.Op === 'Enter' && at && e.Location?.file === at.file && e.Location.row === at.row);
  const fails = trace.filter((e) => e.Op === 'Fail' && e.Location?.file);
  const failed = (body ? fails.filter((e) => e.QueryID === body.QueryID) : fails).at(-1) ?? fails.at(-1);
  if (failed?.Location) {
    const file = resolveFile(failed.Location.file);
    const text = sourceLine(file, failed.Location.row);
    details.push({ kind: 'note', text: `${display(file)}:${failed.Location.row}: failed: ${text ?? '(source not readable)'}` });
    const names = failed.LocalMetadata ?? {};
    for (const local of failed.Locals ?? []) {
      const name = names[local.name]?.name ?? local.name;
      if (name.startsWith('__')) continue;
      details.push({ kind: 'note', text: `  ${name} = ${JSON.stringify(termToJson(local.type, local.value))}` });
    }
  }
  if (result.output) {
    for (const line of Buffer.from(result.output, 'base64').toString('utf8').trimEnd().split('\n')) {
      details.push({ kind: 'note', text: `print: ${line}` });
    }
  }
  if (details.length === 0) details.push({ kind: 'note', text: 'the test rule is undefined or false' });
  return details;
}

/** Maps `opa test --format=json` results to cases. Pure: `resolveFile` makes OPA's paths absolute. */
export function mapOpaResults(results: OpaTestResult[], resolveFile: (f: string) => string): CaseResult[] {
  const sorted = [...results].sort((a, b) => {
    const fa = a.location?.file ?? '';
    const fb = b.location?.file ?? '';
    return fa === fb ? (a.location?.row ?? 0) - (b.location?.row ?? 0) : fa < fb ? -1 : 1;
  });
  return sorted.map((r) => {
    const file = r.location ? `${display(resolveFile(r.location.file))}:${r.location.row}` : '(unknown file)';
    const base = { kind: 'rego' as const, file, name: `${r.package}.${r.name}`, durationMs: (r.duration ?? 0) / 1e6 };
    if (r.skip) return { ...base, status: 'skip' as const, details: [] };
    if (r.error) {
      const at = r.error.location ? `${display(resolveFile(r.error.location.file))}:${r.error.location.row}: ` : '';
      return { ...base, status: 'error' as const, details: [{ kind: 'note' as const, text: `${at}${r.error.code ?? 'error'}: ${r.error.message ?? ''}` }] };
    }
    if (r.fail) return { ...base, status: 'fail' as const, details: explainFailure(r, resolveFile) };
    return { ...base, status: 'pass' as const, details: [] };
  });
}

function errorCase(file: string, message: string): CaseResult {
  return { kind: 'rego', file, name: 'opa test', status: 'error', details: message.trimEnd().split('\n').map((text) => ({ kind: 'note', text })), durationMs: 0 };
}

/** Runs `opa test` on the project's `policies/` folder. */
export function runRego(regoRoot: string): CaseResult[] {
  let opa: string;
  try {
    opa = toolPath('opa');
  } catch (err) {
    return [errorCase(display(regoRoot), (err as Error).message)];
  }
  const r = spawnSync(opa, ['test', regoRoot, '--format=json', '--var-values'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) return [errorCase(display(regoRoot), `${opa}: ${r.error.message}`)];
  const resolveFile = (f: string): string => (isAbsolute(f) ? f : join(regoRoot, f));
  // Exit 0: all passed; 2: some failed. Anything else is a load or compile error, printed as text.
  if (r.status === 0 || r.status === 2) {
    try {
      return mapOpaResults(JSON.parse(r.stdout) as OpaTestResult[], resolveFile);
    } catch {
      // fall through: not the JSON we expected
    }
  }
  const text = `${r.stdout}${r.stderr}`.trim() || `opa test exited with ${r.status}`;
  // OPA names the first file:line itself ("…/authz.rego:3: rego_parse_error: …"); show it relative.
  const located = /(\/[^\s:]+\.rego):(\d+)/.exec(text);
  return [errorCase(located ? `${display(located[1] as string)}:${located[2]}` : display(regoRoot), text.replaceAll(`${regoRoot}/`, `${display(regoRoot)}/`))];
}
