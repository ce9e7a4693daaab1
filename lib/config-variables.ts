/**
 * The environment variables the relay reads, each with its default and its check (config.ts
 * assembles them into the Config and checks how they go together).
 */
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from "./delivery/schedule.js";
import { boolean, duration, integer, number, optionalDuration, type Values, variable } from "./env-variables.js";
import { DEFAULT_ENDPOINT } from "./quanmiao/actions.js";
import { parseEndpoint } from "./quanmiao/endpoint.js";

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

export type StoreConfig = { readonly kind: "sqlite"; readonly path: string } | { readonly kind: "tablestore" };

export const VARIABLES = {
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
  // Every EventBridge bus's data plane at one origin (an emulator): by default each account's own.
  RELAY_EVENTBRIDGE_ENDPOINT: variable<string | undefined>(undefined, (text) => parseEndpoint(text).origin),
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

export type Variables = Values<typeof VARIABLES>;

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
