/**
 * Builds a running relay from configuration: store, API client, webhook sender and the deps a tick
 * needs. The CLI, the local dev loop and the FC functions all start here, so they differ only in
 * where configuration and credentials come from.
 */
import type { ApiDeps } from "./api/routes.js";
import { type Clock, systemClock } from "./clock.js";
import { type Config, type Env, loadConfig } from "./config.js";
import type { Resolver } from "./delivery/guard.js";
import { WebhookSender } from "./delivery/send.js";
import { realSleep, type Sleep } from "./limiter.js";
import type { Log } from "./log.js";
import { createQuanmiaoClient, type QuanmiaoClient } from "./quanmiao/client.js";
import { type CredentialsProvider, resolveCredentials } from "./quanmiao/credentials.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/store.js";
import type { RegistrationDeps } from "./tasks.js";
import { runTick, type TickDeps, type TickSummary } from "./tick.js";

export interface Relay {
  readonly config: Config;
  readonly store: Store;
  readonly client: QuanmiaoClient;
  readonly registration: RegistrationDeps;
  readonly tickDeps: TickDeps;
  /** What the HTTP API needs. */
  readonly apiDeps: ApiDeps;
  tick(budgetMs?: number): Promise<TickSummary>;
  close(): Promise<void>;
}

export interface OpenRelayOptions {
  readonly env: Env;
  /** FC passes the invocation's STS credentials here; otherwise env, then the default chain. */
  readonly credentials?: CredentialsProvider;
  readonly config?: Config;
  readonly store?: Store;
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly resolve?: Resolver;
  readonly log?: Log;
}

export async function openRelay(options: OpenRelayOptions): Promise<Relay> {
  const config = options.config ?? loadConfig(options.env);
  const clock = options.clock ?? systemClock;
  const credentials = options.credentials ?? resolveCredentials(options.env);
  const store = options.store ?? (await openStore(config, credentials));
  const client = createQuanmiaoClient({ ...config.quanmiao, credentials, clock });
  const sender = new WebhookSender({
    timeoutMs: config.delivery.timeoutMs,
    connections: config.delivery.perEndpointConcurrency,
  });
  const tickDeps: TickDeps = {
    store,
    client,
    config,
    clock,
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
    sender,
    resolve: options.resolve,
    log: options.log,
  };
  return {
    config,
    store,
    client,
    registration: {
      store,
      clock,
      poll: config.poll,
      allowPrivateTargets: config.delivery.allowPrivateTargets,
      resolve: options.resolve,
    },
    tickDeps,
    apiDeps: {
      store,
      clock,
      client,
      sender,
      config,
      registration: {
        store,
        clock,
        poll: config.poll,
        allowPrivateTargets: config.delivery.allowPrivateTargets,
        resolve: options.resolve,
      },
    },
    tick: (budgetMs = config.tick.budgetMs) => runTick(tickDeps, { budgetMs }),
    async close() {
      await sender.close();
      await client.close();
      if (!options.store) await store.close();
    },
  };
}
