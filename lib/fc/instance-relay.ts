/**
 * The FC functions' relay: one per instance, opened on the first invocation and kept while the
 * instance lives. Its credentials are read from the latest invocation's context on every call (the
 * function role's STS credentials rotate). A failed start is not kept, so the next invocation tries
 * again; until the configuration has loaded, the log writes at info level.
 */
import { type Env, loadConfig } from "../config.js";
import { jsonLog, type Log } from "../log.js";
import { openRelay, type Relay } from "../relay.js";
import { contextCredentials, type FcContext } from "./context.js";
import { keepWasmOnBaselineTier } from "./wasm-baseline.js";

export interface InstanceRelay<T> {
  /** JSON lines on stdout, which FC keeps as the function's log. */
  readonly log: Log;
  /** The instance's relay (or what `build` made of it), opened on first use. */
  open(context: FcContext): Promise<T>;
}

const stdout = (line: string) => process.stdout.write(line);

export function instanceRelay<T = Relay>(
  env: Env,
  build: (relay: Relay, log: Log) => T | Promise<T> = (relay) => relay as T,
): InstanceRelay<T> {
  keepWasmOnBaselineTier();
  let log: Log = jsonLog(stdout, "info");
  let context: FcContext | undefined;
  let opened: Promise<T> | undefined;
  return {
    log: (entry) => log(entry),
    open(ctx) {
      context = ctx;
      if (!opened) {
        const opening = (async () => {
          const config = loadConfig(env);
          log = jsonLog(stdout, config.logLevel);
          const relay = await openRelay({ env, config, credentials: () => contextCredentials(context), log });
          return build(relay, log);
        })();
        opening.catch(() => {
          if (opened === opening) opened = undefined;
        });
        opened = opening;
      }
      return opened;
    },
  };
}
