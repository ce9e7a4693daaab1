/**
 * Environment → typed, frozen configuration. Every variable is checked; all problems are reported in one ConfigError.
 */

import type { CircuitConfig } from "./delivery/circuit.js";
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from "./delivery/schedule.js";
import {
  boolean,
  duration,
  integer,
  number,
  optionalDuration,
  readVariables,
  type Values,
  variable,
} from "./env-variables.js";
import { RelayError } from "./errors.js";
import { DEFAULT_ENDPOINT } from "./quanmiao/actions.js";
import type { Credentials } from "./quanmiao/credentials.js";
import { parseEndpoint } from "./quanmiao/endpoint.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** Every default in one place: what an unset (or blank) variable means. */
export const DEFAULTS = {
  quanmiao: { endpoint: DEFAULT_ENDPOINT, connectTimeoutMs: 5_000, requestTimeoutMs: 30_000, connections: 8 },
  store: ".relay/relay.db",
  /** Shards of Tablestore's due indexes (lib/store/tablestore/shards.ts). */
  tablestore: { dueShards: 4, maxDueShards: 64 },
  poll: {
    intervalMinMs: 10_000,
    intervalMaxMs: 120_000,
    sweepIntervalMs: 600_000,
    detectionTargetMs: 10_000,
    apiQps: 10,
    apiConcurrency: 4,
    taskMaxAgeMs: 26 * 3_600_000,
  },
  delivery: {
    timeoutMs: 15_000,
    retryScheduleMs: DEFAULT_RETRY_SCHEDULE,
    concurrency: 16,
    perEndpointConcurrency: 4,
    disableAfterMs: 5 * 86_400_000,
    circuit: { failures: 5, cooldownMs: 30_000, cooldownMaxMs: 600_000 },
  },
  /** On FC the budget comes from the function's timeout instead (fc/context.ts). */
  tick: { budgetMs: 50_000, intervalMs: 10_000 },
  api: { port: 8787 },
  dispatch: { functionName: "quanmiao-relay-deliver", batchSize: 100 },
  logLevel: "info",
} as const;

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every bad variable at once, each named with what is wrong with it. */
export class ConfigError extends RelayError {
  readonly retryable = false;
  constructor(readonly problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n")}`);
  }
}

const VARIABLES = {
  // The standard Alibaba Cloud variables; without them the @alicloud/credentials default chain is asked.
  ALIBABA_CLOUD_ACCESS_KEY_ID: variable<string | undefined>(undefined, (text) => text),
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: variable<string | undefined>(undefined, (text) => text),
  ALIBABA_CLOUD_SECURITY_TOKEN: variable<string | undefined>(undefined, (text) => text),
  QUANMIAO_ENDPOINT: variable(DEFAULTS.quanmiao.endpoint, (text) => parseEndpoint(text).origin),
  QUANMIAO_CONNECT_TIMEOUT: duration(DEFAULTS.quanmiao.connectTimeoutMs, { min: 100, max: 60_000 }),
  QUANMIAO_REQUEST_TIMEOUT: duration(DEFAULTS.quanmiao.requestTimeoutMs, { min: 100, max: 300_000 }),
  QUANMIAO_CONNECTIONS: integer(DEFAULTS.quanmiao.connections, 1, 256),
  RELAY_STORE: variable<StoreConfig>({ kind: "sqlite", path: DEFAULTS.store }, parseStore),
  TABLESTORE_ENDPOINT: variable<string | undefined>(undefined, (text) => text),
  TABLESTORE_INSTANCE: variable<string | undefined>(undefined, (text) => text),
  TABLESTORE_DUE_SHARDS: integer(DEFAULTS.tablestore.dueShards, 1, DEFAULTS.tablestore.maxDueShards),
  RELAY_POLL_INTERVAL_MIN: duration(DEFAULTS.poll.intervalMinMs, { min: 1_000, max: 3_600_000 }),
  RELAY_POLL_INTERVAL_MAX: duration(DEFAULTS.poll.intervalMaxMs, { min: 1_000, max: 6 * 3_600_000 }),
  RELAY_POLL_SWEEP_INTERVAL: duration(DEFAULTS.poll.sweepIntervalMs, { min: 10_000, max: 24 * 3_600_000 }),
  RELAY_DETECTION_TARGET: optionalDuration(DEFAULTS.poll.detectionTargetMs, { min: 1_000, max: 3_600_000 }),
  RELAY_LINGER: optionalDuration(undefined, { min: 1_000, max: 3_600_000 }),
  RELAY_RETENTION: optionalDuration(undefined, { min: 60_000, max: 10 * 365 * 86_400_000 }),
  RELAY_API_QPS: number(DEFAULTS.poll.apiQps, 0.1, 1_000),
  RELAY_API_CONCURRENCY: integer(DEFAULTS.poll.apiConcurrency, 1, 256),
  RELAY_TASK_MAX_AGE: duration(DEFAULTS.poll.taskMaxAgeMs, { min: 60_000, max: 30 * 86_400_000 }),
  RELAY_DELIVERY_TIMEOUT: duration(DEFAULTS.delivery.timeoutMs, { min: 100, max: 120_000 }),
  RELAY_RETRY_SCHEDULE: variable<readonly number[]>(DEFAULTS.delivery.retryScheduleMs, parseRetrySchedule),
  RELAY_ALLOW_PRIVATE_TARGETS: boolean(false),
  RELAY_DELIVERY_CONCURRENCY: integer(DEFAULTS.delivery.concurrency, 1, 1_000),
  RELAY_ENDPOINT_CONCURRENCY: integer(DEFAULTS.delivery.perEndpointConcurrency, 1, 100),
  RELAY_ENDPOINT_DISABLE_AFTER: duration(DEFAULTS.delivery.disableAfterMs, { min: 60_000, max: 365 * 86_400_000 }),
  RELAY_CIRCUIT_FAILURES: integer(DEFAULTS.delivery.circuit.failures, 1, 1_000),
  RELAY_CIRCUIT_COOLDOWN: duration(DEFAULTS.delivery.circuit.cooldownMs, { min: 1_000, max: 3_600_000 }),
  RELAY_CIRCUIT_COOLDOWN_MAX: duration(DEFAULTS.delivery.circuit.cooldownMaxMs, { min: 1_000, max: 24 * 3_600_000 }),
  RELAY_TICK_BUDGET: optionalDuration(undefined, { min: 1_000, max: 3_600_000 }),
  RELAY_TICK_INTERVAL: duration(DEFAULTS.tick.intervalMs, { min: 100, max: 3_600_000 }),
  RELAY_API_TOKEN: variable<string[] | undefined>(undefined, (text) => {
    const tokens = text
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    // Never echo a token: say only what is wrong with it.
    if (tokens.some((t) => t.length < 16 || /\s/.test(t)))
      throw new Error("each token must be at least 16 characters, without spaces");
    return tokens;
  }),
  RELAY_API_PORT: integer(DEFAULTS.api.port, 0, 65_535),
  RELAY_API_ALLOWED_HOSTS: variable<string[] | undefined>(undefined, parseHostNames),
  RELAY_DISPATCH: variable<"inline" | "fc">("inline", (text) => {
    if (text === "inline" || text === "fc") return text;
    throw new Error(`"${text}" must be inline or fc`);
  }),
  RELAY_DELIVER_FUNCTION: variable<string>(DEFAULTS.dispatch.functionName, (text) => {
    // FC function names: letters, digits, _ and -, not starting with a digit or -, at most 128.
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/.test(text))
      throw new Error(`"${text}" is not a Function Compute function name`);
    return text;
  }),
  RELAY_FANOUT_BATCH: integer(DEFAULTS.dispatch.batchSize, 1, 1_000),
  RELAY_LOG_LEVEL: variable<LogLevel>(DEFAULTS.logLevel, (text) => {
    const level = text.toLowerCase();
    if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
    throw new Error(`"${text}" must be one of ${LOG_LEVELS.join(", ")}`);
  }),
  RELAY_FC_ENDPOINT: variable<string | undefined>(undefined, (text) => parseEndpoint(text).origin),
  // Set by Function Compute in every instance; needed to address the deliver function.
  FC_ACCOUNT_ID: variable<string | undefined>(undefined, (text) => {
    if (!/^\d{1,32}$/.test(text)) throw new Error(`"${text}" is not an Alibaba Cloud account id`);
    return text;
  }),
  FC_REGION: variable<string | undefined>(undefined, (text) => {
    if (!/^[a-z0-9-]{2,40}$/.test(text)) throw new Error(`"${text}" is not a region id`);
    return text;
  }),
};

type Variables = Values<typeof VARIABLES>;

export type StoreConfig = { readonly kind: "sqlite"; readonly path: string } | { readonly kind: "tablestore" };

/**
 * Host names as the API compares them with a Host header: lower-case, no port, an IPv6 literal in
 * brackets. A scheme, port or path is refused rather than dropped: it says the value was meant as a URL.
 */
function parseHostNames(text: string): string[] {
  const names = text
    .split(",")
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean)
    .map((n) => (n.includes(":") && !n.startsWith("[") ? `[${n}]` : n));
  const label = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";
  const valid = new RegExp(`^(?:${label}(?:\\.${label})*|\\[[0-9a-f:.]+\\])$`);
  const bad = names.find((n) => !valid.test(n));
  if (bad !== undefined) throw new Error(`"${bad}" is not a host name (give names only: no scheme, port or path)`);
  if (names.length === 0) throw new Error("names no host");
  return names;
}

function parseStore(text: string): StoreConfig {
  if (text === "tablestore") return { kind: "tablestore" };
  if (text.startsWith("sqlite:") && text.length > "sqlite:".length) return { kind: "sqlite", path: text.slice(7) };
  throw new Error(`"${text}" must be sqlite:<path> or tablestore`);
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
  /** FC_REGION, FC_ACCOUNT_ID: the relay's own (FC sets them); EventBridge subscriptions default to them. */
  readonly cloud: { readonly region: string | undefined; readonly accountId: string | undefined };
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
    cloud: { region: v.FC_REGION, accountId: v.FC_ACCOUNT_ID },
  });
}

function dispatchConfig(v: Variables): DispatchConfig {
  if (v.RELAY_DISPATCH === "inline") return { mode: "inline" };
  // Checked above: the account id is set, and so is the region or the endpoint.
  const [accountId, region] = [v.FC_ACCOUNT_ID ?? "", v.FC_REGION ?? "local"];
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
