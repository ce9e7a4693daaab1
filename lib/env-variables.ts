/**
 * How one environment variable is read (config.ts lists them all): blank counts as unset, and a bad
 * value becomes a message naming what is wrong, gathered with every other variable's.
 */
import { z } from "zod";
import { formatDuration, parseDuration } from "./duration.js";
import { coerceError } from "./errors.js";

/** An optional variable: blank counts as unset, so `FOO=` in a .env file means "use the default". */
export function variable<T>(fallback: T, parse: (text: string) => T) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined || raw.trim() === "") return fallback;
      try {
        return parse(raw.trim());
      } catch (error) {
        ctx.addIssue({ code: "custom", message: coerceError(error).message });
        return z.NEVER;
      }
    });
}

export function duration(fallbackMs: number, { min = 0, max = Number.POSITIVE_INFINITY } = {}) {
  return variable(fallbackMs, (text) => {
    const ms = parseDuration(text);
    if (ms === undefined) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 10s, 5m, 2h)`);
    if (ms < min || ms > max)
      throw new Error(`${text} is out of range (${formatDuration(min)} to ${formatDuration(max)})`);
    return ms;
  });
}

/** A duration that may also be switched off (`off`, `0`): undefined when off. */
export function optionalDuration(fallbackMs: number | undefined, { min = 0, max = Number.POSITIVE_INFINITY } = {}) {
  return variable<number | undefined>(fallbackMs, (text) => {
    if (/^(off|false|no|0)$/i.test(text)) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) throw new Error(`"${text}" is not a duration or off (use e.g. 10s, 1m, off)`);
    if (ms < min || ms > max)
      throw new Error(`${text} is out of range (${formatDuration(min)} to ${formatDuration(max)}, or off)`);
    return ms;
  });
}

export function integer(fallback: number, min: number, max: number) {
  return variable(fallback, (text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`"${text}" must be an integer from ${min} to ${max}`);
    return n;
  });
}

export function boolean(fallback: boolean) {
  return variable(fallback, (text) => {
    if (/^(true|1|yes)$/i.test(text)) return true;
    if (/^(false|0|no)$/i.test(text)) return false;
    throw new Error(`"${text}" must be true or false`);
  });
}

export function number(fallback: number, min: number, max: number) {
  return variable(fallback, (text) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`"${text}" must be a number from ${min} to ${max}`);
    return n;
  });
}
