/**
 * How one environment variable is read (config.ts lists them all): blank counts as unset, and a bad
 * value becomes a message naming what is wrong, gathered with every other variable's. Plain
 * functions, not a schema library: every FC cold start reads the environment, and this is all it needs.
 */
import { formatDuration, parseDuration } from "./duration.js";
import { coerceError } from "./errors.js";

/** Reads one variable's raw text (undefined when unset); throws an Error saying what is wrong. */
export type Variable<T> = (raw: string | undefined) => T;

/** What a set of variables reads as. */
export type Values<S> = { -readonly [K in keyof S]: S[K] extends Variable<infer T> ? T : never };

/** An optional variable: blank counts as unset, so `FOO=` in a .env file means "use the default". */
export function variable<T>(fallback: T, parse: (text: string) => T): Variable<T> {
  return (raw) => (raw === undefined || raw.trim() === "" ? fallback : parse(raw.trim()));
}

/** Every variable of `spec` read from `env`, and a problem for each one that is wrong. */
export function readVariables<S extends Record<string, Variable<unknown>>>(
  spec: S,
  env: Readonly<Record<string, string | undefined>>,
): { values: Values<S>; problems: Array<{ variable: string; message: string }> } {
  const values: Record<string, unknown> = {};
  const problems: Array<{ variable: string; message: string }> = [];
  for (const [name, read] of Object.entries(spec)) {
    const raw = env[name];
    try {
      // A non-string (a test passing a number, say) is as wrong as bad text.
      if (raw !== undefined && typeof raw !== "string") throw new Error(`expected text, got ${typeof raw}`);
      values[name] = read(raw);
    } catch (error) {
      problems.push({ variable: name, message: coerceError(error).message });
    }
  }
  return { values: values as Values<S>, problems };
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
