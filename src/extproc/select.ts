/**
 * Chooses the script for a request: the first rule whose every given
 * condition holds. Conditions: host (`:authority` without port; exact, or
 * `*.suffix`), path prefix, method, ext_proc attributes and dynamic metadata
 * Envoy forwards. Pure.
 */

/** One routing rule, as validated config gives it. */
export interface ScriptRule {
  readonly script: string;
  readonly hosts?: readonly string[] | undefined;
  readonly pathPrefix?: string | undefined;
  readonly methods?: readonly string[] | undefined;
  /** `{ "request.path": "/x" }`-style keys into ProcessingRequest.attributes (any namespace). */
  readonly attributes?: Readonly<Record<string, string>> | undefined;
  /** `{ namespace: { key: value } }` matched against metadata_context.filter_metadata. */
  readonly metadata?: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined;
}

/** What a rule can look at. */
export interface RequestFacts {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly attributes: Record<string, Record<string, unknown>>;
  readonly metadata: Record<string, Record<string, unknown>>;
}

function hostMatches(patterns: readonly string[], authority: string): boolean {
  const host = authority.replace(/:\d+$/, '').toLowerCase();
  return patterns.some((p) => (p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p.toLowerCase()));
}

function attributeValue(attributes: Record<string, Record<string, unknown>>, key: string): unknown {
  for (const ns of Object.values(attributes)) if (key in ns) return ns[key];
  return undefined;
}

/** The first matching rule's script name, or undefined. */
export function selectScript(rules: readonly ScriptRule[], facts: RequestFacts): string | undefined {
  for (const rule of rules) {
    if (rule.hosts && !hostMatches(rule.hosts, facts.host)) continue;
    if (rule.pathPrefix !== undefined && !facts.path.startsWith(rule.pathPrefix)) continue;
    if (rule.methods && !rule.methods.includes(facts.method.toUpperCase())) continue;
    if (rule.attributes && !Object.entries(rule.attributes).every(([k, v]) => String(attributeValue(facts.attributes, k)) === v)) continue;
    if (rule.metadata && !Object.entries(rule.metadata).every(([ns, kv]) => Object.entries(kv).every(([k, v]) => String(facts.metadata[ns]?.[k]) === v))) continue;
    return rule.script;
  }
  return undefined;
}
