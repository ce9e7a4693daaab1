/**
 * Environment → typed, frozen configuration. Every variable is checked, and all problems are
 * reported together in one ConfigError that names each variable and what is wrong with it.
 */
import { z } from "zod";
import { formatDuration, parseDuration } from "./duration.js";
import { DEFAULT_ENDPOINT } from "./quanmiao/actions.js";
import { CLIENT_DEFAULTS, parseEndpoint } from "./quanmiao/client.js";

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  readonly retryable = false;
  constructor(readonly problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** An optional variable: blank counts as unset, so `FOO=` in a .env file means "use the default". */
function variable<T>(fallback: T, parse: (text: string) => T) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined || raw.trim() === "") return fallback;
      try {
        return parse(raw.trim());
      } catch (error) {
        ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    });
}

function duration(fallbackMs: number, { min = 0, max = Number.POSITIVE_INFINITY } = {}) {
  return variable(fallbackMs, (text) => {
    const ms = parseDuration(text);
    if (ms === undefined) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 10s, 5m, 2h)`);
    if (ms < min || ms > max)
      throw new Error(`${text} is out of range (${formatDuration(min)} to ${formatDuration(max)})`);
    return ms;
  });
}

function integer(fallback: number, min: number, max: number) {
  return variable(fallback, (text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`"${text}" must be an integer from ${min} to ${max}`);
    return n;
  });
}

const schema = z.object({
  QUANMIAO_ENDPOINT: variable(DEFAULT_ENDPOINT, (text) => parseEndpoint(text).origin),
  QUANMIAO_CONNECT_TIMEOUT: duration(CLIENT_DEFAULTS.connectTimeoutMs, { min: 100, max: 60_000 }),
  QUANMIAO_REQUEST_TIMEOUT: duration(CLIENT_DEFAULTS.requestTimeoutMs, { min: 100, max: 300_000 }),
  QUANMIAO_CONNECTIONS: integer(CLIENT_DEFAULTS.connections, 1, 256),
});

export interface QuanmiaoConfig {
  readonly endpoint: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly connections: number;
}

export interface Config {
  readonly quanmiao: QuanmiaoConfig;
}

export function loadConfig(env: Env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? "environment"),
      message: issue.message,
    }));
    throw new ConfigError(problems);
  }
  const v = result.data;
  return Object.freeze({
    quanmiao: Object.freeze({
      endpoint: v.QUANMIAO_ENDPOINT,
      connectTimeoutMs: v.QUANMIAO_CONNECT_TIMEOUT,
      requestTimeoutMs: v.QUANMIAO_REQUEST_TIMEOUT,
      connections: v.QUANMIAO_CONNECTIONS,
    }),
  });
}
