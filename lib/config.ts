/**
 * Environment → typed, frozen configuration. Every variable is checked, and all problems are
 * reported together in one ConfigError that names each variable and what is wrong with it.
 */

import { DEFAULTS, type LogLevel, type StoreConfig, VARIABLES, type Variables } from "./config-variables.js";
import type { CircuitConfig } from "./delivery/circuit.js";
import { readVariables } from "./env-variables.js";
import { RelayError } from "./errors.js";
import type { Credentials } from "./quanmiao/credentials.js";

export { DEFAULTS, LOG_LEVELS, type LogLevel, type StoreConfig } from "./config-variables.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** Every bad variable at once, each named with what is wrong with it. */
export class ConfigError extends RelayError {
  readonly retryable = false;
  constructor(readonly problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n")}`);
  }
}

export interface QuanmiaoConfig {
  readonly endpoint: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly connections: number;
}

export interface PollConfig {
  readonly intervalMinMs: number;
  readonly intervalMaxMs: number;
  readonly sweepIntervalMs: number;
  readonly apiQps: number;
  readonly apiConcurrency: number;
  readonly taskMaxAgeMs: number;
  /**
   * RELAY_DETECTION_TARGET: running tasks are polled so that 95 % of ends are noticed within this
   * long, on the learned run times (lib/runtimes.ts); undefined keeps the plain adaptive interval.
   */
  readonly detectionTargetMs: number | undefined;
}

export interface DeliveryConfig {
  readonly timeoutMs: number;
  /** Delay before each attempt; the first entry is the first attempt's. */
  readonly retryScheduleMs: readonly number[];
  readonly allowPrivateTargets: boolean;
  readonly concurrency: number;
  readonly perEndpointConcurrency: number;
  readonly disableAfterMs: number;
  /** The circuit per endpoint (delivery/circuit.ts). */
  readonly circuit: CircuitConfig;
}

/**
 * Where due deliveries are attempted: in the run that found them, or handed in batches to the
 * deliver function by asynchronous invocation (fan-out, on Function Compute).
 */
export type DispatchConfig =
  | { readonly mode: "inline" }
  | {
      readonly mode: "fc";
      readonly functionName: string;
      /** Delivery ids per invocation. */
      readonly batchSize: number;
      readonly accountId: string;
      readonly region: string;
      /** FC's invoke endpoint; by default `https://<accountId>.<region>.fc.aliyuncs.com`. */
      readonly endpoint: string;
    };

export interface Config {
  /** From the ALIBABA_CLOUD_* variables; undefined when neither key variable is set. */
  readonly credentials: Credentials | undefined;
  readonly quanmiao: QuanmiaoConfig;
  readonly store: StoreConfig;
  readonly tablestore: {
    readonly endpoint: string | undefined;
    readonly instance: string | undefined;
    /** How many shards the due indexes are spread over; raise it, never lower it (shards.ts). */
    readonly dueShards: number;
  };
  readonly poll: PollConfig;
  readonly delivery: DeliveryConfig;
  /**
   * `lingerMs` (RELAY_LINGER): how long after its start a run may stay alive, sleeping until its
   * running tasks' next polls come due, so that one run a minute covers the whole minute.
   */
  readonly tick: {
    readonly budgetMs: number;
    /** Whether RELAY_TICK_BUDGET was set: on FC it then wins over the function's timeout. */
    readonly budgetSet: boolean;
    readonly intervalMs: number;
    readonly lingerMs: number | undefined;
  };
  readonly logLevel: LogLevel;
  /**
   * RELAY_RETENTION: events (their payloads) and their deliveries older than this are deleted in
   * runs' spare time, never one with a pending delivery; undefined keeps everything.
   */
  readonly retentionMs: number | undefined;
  /**
   * Bearer tokens for the HTTP API (several during a rotation); undefined when none is set.
   * `allowedHosts` (RELAY_API_ALLOWED_HOSTS): when set, the only Host names the API answers to.
   */
  readonly api: {
    readonly tokens: readonly string[] | undefined;
    readonly port: number;
    readonly allowedHosts: readonly string[] | undefined;
  };
  readonly dispatch: DispatchConfig;
  /**
   * Publishing to EventBridge buses: `endpoint` (RELAY_EVENTBRIDGE_ENDPOINT) replaces every bus's
   * data-plane origin; region and account are the defaults of a bus registered without them.
   */
  readonly eventBridge: {
    readonly endpoint: string | undefined;
    readonly region: string | undefined;
    readonly accountId: string | undefined;
  };
}

type KeyVariables = Record<
  "ALIBABA_CLOUD_ACCESS_KEY_ID" | "ALIBABA_CLOUD_ACCESS_KEY_SECRET" | "ALIBABA_CLOUD_SECURITY_TOKEN",
  string | undefined
>;

/** Half a pair is a mistake worth stopping for, not a reason to fall through to another source. */
function keyPairProblems(v: KeyVariables): Array<{ variable: string; message: string }> {
  const id = v.ALIBABA_CLOUD_ACCESS_KEY_ID;
  if (Boolean(id) === Boolean(v.ALIBABA_CLOUD_ACCESS_KEY_SECRET)) return [];
  const variable = id ? "ALIBABA_CLOUD_ACCESS_KEY_SECRET" : "ALIBABA_CLOUD_ACCESS_KEY_ID";
  return [{ variable, message: "is not set, but its pair is: set both or neither" }];
}

function keyPair(v: KeyVariables): Credentials | undefined {
  const { ALIBABA_CLOUD_ACCESS_KEY_ID: accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: accessKeySecret } = v;
  if (!accessKeyId || !accessKeySecret) return undefined;
  return { accessKeyId, accessKeySecret, securityToken: v.ALIBABA_CLOUD_SECURITY_TOKEN };
}

/**
 * Only the AccessKey variables, for the local dev tools that accept the relay's own key: they
 * should not refuse to start over a relay setting they do not use.
 */
export function loadKeyPair(env: Env): Credentials | undefined {
  const trimmed = (name: keyof KeyVariables) => env[name]?.trim() || undefined;
  const v: KeyVariables = {
    ALIBABA_CLOUD_ACCESS_KEY_ID: trimmed("ALIBABA_CLOUD_ACCESS_KEY_ID"),
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: trimmed("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ALIBABA_CLOUD_SECURITY_TOKEN: trimmed("ALIBABA_CLOUD_SECURITY_TOKEN"),
  };
  const problems = keyPairProblems(v);
  if (problems.length > 0) throw new ConfigError(problems);
  return keyPair(v);
}

export function loadConfig(env: Env): Config {
  const { values: v, problems } = readVariables(VARIABLES, env);
  if (problems.length === 0) {
    if (v.RELAY_POLL_INTERVAL_MIN > v.RELAY_POLL_INTERVAL_MAX) {
      problems.push({
        variable: "RELAY_POLL_INTERVAL_MIN",
        message: "must not be longer than RELAY_POLL_INTERVAL_MAX",
      });
    }
    if (v.RELAY_DISPATCH === "fc") {
      if (!v.FC_ACCOUNT_ID)
        problems.push({
          variable: "FC_ACCOUNT_ID",
          message: "is required when RELAY_DISPATCH=fc (Function Compute sets it)",
        });
      if (!v.FC_REGION && !v.RELAY_FC_ENDPOINT)
        problems.push({
          variable: "FC_REGION",
          message: "is required when RELAY_DISPATCH=fc, unless RELAY_FC_ENDPOINT is set (Function Compute sets it)",
        });
    }
    if (v.RELAY_CIRCUIT_COOLDOWN > v.RELAY_CIRCUIT_COOLDOWN_MAX) {
      problems.push({
        variable: "RELAY_CIRCUIT_COOLDOWN",
        message: "must not be longer than RELAY_CIRCUIT_COOLDOWN_MAX",
      });
    }
    problems.push(...keyPairProblems(v));
    if (v.RELAY_STORE.kind === "tablestore") {
      for (const name of ["TABLESTORE_ENDPOINT", "TABLESTORE_INSTANCE"] as const) {
        if (!v[name]) problems.push({ variable: name, message: "is required when RELAY_STORE=tablestore" });
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    credentials: keyPair(v),
    quanmiao: {
      endpoint: v.QUANMIAO_ENDPOINT,
      connectTimeoutMs: v.QUANMIAO_CONNECT_TIMEOUT,
      requestTimeoutMs: v.QUANMIAO_REQUEST_TIMEOUT,
      connections: v.QUANMIAO_CONNECTIONS,
    },
    store: v.RELAY_STORE,
    tablestore: {
      endpoint: v.TABLESTORE_ENDPOINT,
      instance: v.TABLESTORE_INSTANCE,
      dueShards: v.TABLESTORE_DUE_SHARDS,
    },
    poll: {
      intervalMinMs: v.RELAY_POLL_INTERVAL_MIN,
      intervalMaxMs: v.RELAY_POLL_INTERVAL_MAX,
      sweepIntervalMs: v.RELAY_POLL_SWEEP_INTERVAL,
      apiQps: v.RELAY_API_QPS,
      apiConcurrency: v.RELAY_API_CONCURRENCY,
      taskMaxAgeMs: v.RELAY_TASK_MAX_AGE,
      detectionTargetMs: v.RELAY_DETECTION_TARGET,
    },
    delivery: {
      timeoutMs: v.RELAY_DELIVERY_TIMEOUT,
      retryScheduleMs: v.RELAY_RETRY_SCHEDULE,
      allowPrivateTargets: v.RELAY_ALLOW_PRIVATE_TARGETS,
      concurrency: v.RELAY_DELIVERY_CONCURRENCY,
      perEndpointConcurrency: v.RELAY_ENDPOINT_CONCURRENCY,
      disableAfterMs: v.RELAY_ENDPOINT_DISABLE_AFTER,
      circuit: {
        failures: v.RELAY_CIRCUIT_FAILURES,
        cooldownMs: v.RELAY_CIRCUIT_COOLDOWN,
        cooldownMaxMs: v.RELAY_CIRCUIT_COOLDOWN_MAX,
      },
    },
    tick: {
      budgetMs: v.RELAY_TICK_BUDGET ?? DEFAULTS.tick.budgetMs,
      budgetSet: v.RELAY_TICK_BUDGET !== undefined,
      intervalMs: v.RELAY_TICK_INTERVAL,
      lingerMs: v.RELAY_LINGER,
    },
    api: { tokens: v.RELAY_API_TOKEN, port: v.RELAY_API_PORT, allowedHosts: v.RELAY_API_ALLOWED_HOSTS },
    logLevel: v.RELAY_LOG_LEVEL,
    retentionMs: v.RELAY_RETENTION,
    dispatch: dispatchConfig(v),
    eventBridge: { endpoint: v.RELAY_EVENTBRIDGE_ENDPOINT, region: v.FC_REGION, accountId: v.FC_ACCOUNT_ID },
  });
}

function dispatchConfig(v: Variables): DispatchConfig {
  if (v.RELAY_DISPATCH === "inline") return { mode: "inline" };
  // Checked above: the account id is set, and so is the region or the endpoint.
  const accountId = v.FC_ACCOUNT_ID ?? "";
  const region = v.FC_REGION ?? "local";
  return {
    mode: "fc",
    functionName: v.RELAY_DELIVER_FUNCTION,
    batchSize: v.RELAY_FANOUT_BATCH,
    accountId,
    region,
    endpoint: v.RELAY_FC_ENDPOINT ?? `https://${accountId}.${region}.fc.aliyuncs.com`,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
