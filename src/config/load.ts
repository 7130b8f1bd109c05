/**
 * Loads the YAML config and applies command-line overrides, validating the
 * result in full. Errors read `FILE: key.path: what is wrong`.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { IacdashError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

/** Command-line values that override the file. */
export interface ConfigOverrides {
  addr?: string | undefined;
  httpAddr?: string | undefined;
  bundle?: string | undefined;
}

function formatIssues(source: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.length ? issue.path.join('.') : '(top level)';
      return `${source}: ${key}: ${issue.message}`;
    })
    .join('\n');
}

/** Parses and validates config text; `source` names it in errors. */
export function parseConfig(text: string, source: string, overrides: ConfigOverrides = {}): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new IacdashError('config_invalid', doc.errors.map((e) => `${source}: ${e.message}`).join('\n'));
  }
  const raw = (doc.toJS() ?? {}) as Record<string, any>;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new IacdashError('config_invalid', `${source}: (top level): expected a mapping`);
  }
  const merged = structuredClone(raw);
  const set = (section: string, key: string, value: string | undefined): void => {
    if (value === undefined) return;
    merged[section] = { ...(merged[section] ?? {}), [key]: value };
  };
  set('server', 'addr', overrides.addr);
  set('server', 'http_addr', overrides.httpAddr);
  set('bundle', 'path', overrides.bundle);
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new IacdashError('config_invalid', formatIssues(source, result.error));
  return result.data;
}

/** Reads FILE (or only defaults when undefined) and validates. */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Config {
  if (file === undefined) return parseConfig('', '(defaults)', overrides);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new IacdashError('config_invalid', `${file}: ${(err as Error).message}`);
  }
  return parseConfig(text, file, overrides);
}

/** "host:port" → listen parts; an empty host means all interfaces. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(addr.slice(i + 1)) };
}
