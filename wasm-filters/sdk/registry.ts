// Which RootContext class serves which root_id. A filter registers a factory
// at top level; the SDK calls it when the host creates a root context.
import { RootContext } from "./context";

/** Creates a root context; a plain function (AssemblyScript functions cannot capture). */
export type RootFactory = (contextId: u32, rootId: string) => RootContext;

const factories = new Map<string, RootFactory>();

/** Serves `rootId` (Envoy's `root_id`, Istio's `pluginName`) with `factory`; "" serves any root id. */
export function registerRootContext(factory: RootFactory, rootId: string = ""): void {
  factories.set(rootId, factory);
}

/** The factory for `rootId`, falling back to the catch-all one; null when none fits. */
export function factoryFor(rootId: string): RootFactory | null {
  if (factories.has(rootId)) return factories.get(rootId);
  if (factories.has("")) return factories.get("");
  return null;
}
