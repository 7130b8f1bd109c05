// A complete small filter: it greets every request with a header, refuses
// requests that ask to be blocked, logs what it did and counts both.
import {
  Action,
  ConfigErrors,
  ConfigObject,
  Counter,
  HeaderPair,
  HttpContext,
  RootContext,
  logError,
  logInfo,
  pluginConfiguration,
  registerRootContext,
  requestHeaders,
} from "../../sdk";
// The ABI callbacks must be exports of the entry file.
export * from "../../sdk/exports";

class GreetingRoot extends RootContext {
  name: string = "world";
  greeted: Counter | null = null;
  blocked: Counter | null = null;

  // Istio's pluginConfig arrives here as JSON. Return false to refuse it.
  onConfigure(size: usize): bool {
    const errors = new ConfigErrors();
    const config = ConfigObject.parse(pluginConfiguration.text(), ["name"], errors);
    const name = config.string("name", "world");
    if (!errors.ok) {
      logError("greeting: invalid configuration: " + errors.message);
      return false;
    }
    this.name = name;
    this.greeted = new Counter("greeting.greeted");
    this.blocked = new Counter("greeting.blocked");
    return true;
  }

  createHttpContext(id: u32): HttpContext {
    return new GreetingHttp(id, this);
  }
}

class GreetingHttp extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = changetype<GreetingRoot>(this.root);
    if (requestHeaders.get("x-block") == "yes") {
      root.blocked!.increment(1);
      logInfo("greeting: blocked");
      const headers = [new HeaderPair("content-type", "text/plain")];
      this.sendLocalResponse(403, "blocked by greeting\n", headers, "greeting_blocked");
      return Action.Pause; // the reply is sent; stop here
    }
    requestHeaders.replace("x-hello", root.name);
    root.greeted!.increment(1);
    logInfo("greeting: hello " + root.name);
    return Action.Continue;
  }
}

registerRootContext((id: u32, rootId: string): RootContext => new GreetingRoot(id, rootId));
