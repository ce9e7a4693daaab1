/**
 * Builds a running relay from configuration: store, API client, webhook sender and the deps a tick
 * needs. The CLI, the local dev loop and the FC functions all start here, so they differ only in
 * where configuration and credentials come from.
 */

import { randomUUID } from "node:crypto";
import { type Clock, systemClock } from "./clock.js";
import { type Config, type Env, loadConfig } from "./config.js";
import { type EventBridgeDeps, openDeliveryRun } from "./delivery/deliver.js";
import { EndpointMemory } from "./delivery/endpoint-memory.js";
import type { AsyncInvoker } from "./delivery/fanout.js";
import type { Resolver } from "./delivery/guard.js";
import { deliverDue } from "./delivery/loop.js";
import { type DeliveryCounts, emptyCounts } from "./delivery/pass-counts.js";
import { WebhookSender } from "./delivery/send.js";
import { type BusAddress, createEventBridgePublisher } from "./eventbridge/client.js";
import { createFcInvoker } from "./fc/invoke.js";
import { realSleep, type Sleep } from "./limiter.js";
import { jsonLog, type Log } from "./log.js";
import type { PrometheusMetrics } from "./prometheus.js";
import { createQuanmiaoClient, type QuanmiaoClient } from "./quanmiao/client.js";
import { type CredentialsProvider, resolveCredentials } from "./quanmiao/credentials.js";
import { RecentWorkspaces } from "./recent-workspaces.js";
import { runTick, type TickDeps, type TickSummary } from "./run/run.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/store.js";
import type { RegistrationDeps } from "./tasks.js";

export interface Relay {
  readonly config: Config;
  readonly store: Store;
  readonly client: QuanmiaoClient;
  readonly clock: Clock;
  /** Where each API call's AccessKey comes from: asking it first tells whether polling can work at all. */
  readonly credentials: CredentialsProvider;
  readonly sender: WebhookSender;
  readonly registration: RegistrationDeps;
  readonly tickDeps: TickDeps;
  /** The relay's log (a no-op when it has none). */
  readonly log: Log;
  readonly metrics: PrometheusMetrics | undefined;
  tick(budgetMs?: number): Promise<TickSummary>;
  /** Attempts these deliveries now (a fan-out batch); rows not due or leased elsewhere are left alone. */
  deliver(ids: readonly string[], budgetMs: number): Promise<DeliveryCounts>;
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
  /** Where JSON log lines go (at RELAY_LOG_LEVEL), when no `log` is given. */
  readonly logTo?: (line: string) => void;
  /** Replaces the FC invoker that RELAY_DISPATCH=fc builds. */
  readonly invoker?: AsyncInvoker;
  /** Counts what this process's runs do, for GET /metrics (npm start passes one). */
  readonly metrics?: PrometheusMetrics;
  /** Where a bus's PutEvents go (an emulator); otherwise RELAY_EVENTBRIDGE_ENDPOINT, then Alibaba's. */
  readonly eventBridgeEndpoint?: (address: BusAddress) => string;
}

/** FC answers an asynchronous invocation once it is queued: quickly, or something is wrong. */
const INVOKE_TIMEOUT_MS = 10_000;

export async function openRelay(options: OpenRelayOptions): Promise<Relay> {
  const config = options.config ?? loadConfig(options.env);
  const log = options.log ?? (options.logTo ? jsonLog(options.logTo, config.logLevel) : undefined);
  const clock = options.clock ?? systemClock;
  const credentials = resolveCredentials(config.credentials, options.credentials);
  const store = options.store ?? (await openStore(config, credentials, log));
  const client = createQuanmiaoClient({ ...config.quanmiao, credentials, clock });
  const sender = new WebhookSender({ timeoutMs: config.delivery.timeoutMs });
  // Like the sender's connections, what is learned of endpoints lasts as long as the process.
  const endpointMemory = new EndpointMemory(clock);
  const eventBridge: EventBridgeDeps = {
    publisher: createEventBridgePublisher({
      credentials,
      clock,
      timeoutMs: config.delivery.timeoutMs,
      endpoint: options.eventBridgeEndpoint ?? fixedEndpoint(config.eventBridge.endpoint),
    }),
    region: config.eventBridge.region,
    accountId: config.eventBridge.accountId,
  };
  const dispatch = config.dispatch;
  const invoker =
    options.invoker ??
    (dispatch.mode === "fc" ? createFcInvoker({ ...dispatch, timeoutMs: INVOKE_TIMEOUT_MS }, credentials) : undefined);
  const tickDeps: TickDeps = {
    store,
    client,
    config,
    clock,
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
    sender,
    resolve: options.resolve,
    log,
    invoker,
    metrics: options.metrics,
    eventBridge,
    endpointMemory,
  };
  const registration: RegistrationDeps = {
    store,
    clock,
    poll: config.poll,
    allowPrivateTargets: config.delivery.allowPrivateTargets,
    resolve: options.resolve,
    workspaces: new RecentWorkspaces(),
    ownCloud: config.eventBridge,
  };
  return {
    config,
    store,
    client,
    clock,
    credentials,
    sender,
    registration,
    tickDeps,
    log: log ?? (() => {}),
    metrics: options.metrics,
    tick: (budgetMs = config.tick.budgetMs) => runTick(tickDeps, { budgetMs }),
    async deliver(ids, budgetMs) {
      const counts: DeliveryCounts = emptyCounts();
      const deadline = clock.now() + budgetMs;
      const run = openDeliveryRun({
        store,
        clock,
        sleep: tickDeps.sleep,
        random: tickDeps.random,
        config: config.delivery,
        sender,
        resolve: options.resolve,
        owner: `deliver-${randomUUID()}`,
        log,
        metrics: options.metrics,
        eventBridge,
        endpointMemory,
      });
      await deliverDue(run, counts, {
        ids,
        leaseMs: budgetMs + 60_000,
        concurrency: config.delivery.concurrency,
        startBeforeMs: deadline,
      });
      return counts;
    },
    async close() {
      await sender.close();
      await client.close();
      await eventBridge.publisher.close();
      if (!options.store) await store.close();
    },
  };
}

const fixedEndpoint = (origin: string | undefined) => (origin === undefined ? undefined : () => origin);
