/**
 * Function Compute 3.0's side of the contract: the timer event, the invocation context, and what
 * the relay takes from them (credentials, time budget).
 */
import type { Config } from "../config.js";
import type { Credentials } from "../quanmiao/credentials.js";
import { CredentialsError } from "../quanmiao/errors.js";

export interface FcContext {
  readonly requestId?: string;
  /** The function role's STS credentials; they rotate, so they are read on every call. */
  readonly credentials?: { accessKeyId?: string; accessKeySecret?: string; securityToken?: string };
  readonly function?: { name?: string; handler?: string; memory?: number; timeout?: number };
  readonly region?: string;
  readonly accountId?: string;
}

export interface TimerEvent {
  readonly triggerTime: string | undefined;
  readonly triggerName: string | undefined;
  readonly payload: string | undefined;
}

/** The timer event arrives as a Buffer of JSON; anything unreadable yields empty fields, not a failure. */
export function parseTimerEvent(event: unknown): TimerEvent {
  let value: unknown = event;
  try {
    if (Buffer.isBuffer(value)) value = value.toString("utf8");
    if (typeof value === "string") value = value.trim() === "" ? {} : JSON.parse(value);
  } catch {
    value = {};
  }
  const o = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  return { triggerTime: text(o.triggerTime), triggerName: text(o.triggerName), payload: text(o.payload) };
}

export function contextCredentials(context: FcContext | undefined): Credentials {
  const c = context?.credentials;
  if (!c?.accessKeyId || !c.accessKeySecret) {
    throw new CredentialsError("the invocation context carries no credentials: give the function a RAM role");
  }
  return {
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    securityToken: c.securityToken || undefined,
  };
}

/** RELAY_TICK_BUDGET when set; else the function's timeout less a margin (10 %, at least 5 s). */
export function budgetFrom(context: FcContext, tick: Pick<Config["tick"], "budgetMs" | "budgetSet">): number {
  if (tick.budgetSet) return tick.budgetMs;
  const timeoutMs = (context.function?.timeout ?? 60) * 1000;
  return Math.max(1_000, timeoutMs - Math.max(5_000, timeoutMs * 0.1));
}
