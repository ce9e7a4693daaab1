/** The reliability suite's means of failure: runs that die at a chosen store operation, and the API's faults. */
import type { Fault } from "../../dev/quanmiao-simulator/faults.js";

/**
 * A run's connections to the world (store, API client, webhook sender) that die together: after
 * the `after`-th store operation, or when `kill()` is called, every call on any of them never
 * completes, as in a process that was killed there. `died` resolves at that moment.
 */
export function killable<T extends Record<string, object>>(parts: T, after: number) {
  let calls = 0;
  let dead = false;
  let onDeath: () => void = () => {};
  const died = new Promise<void>((resolve) => {
    onDeath = resolve;
  });
  const kill = () => {
    dead = true;
    onDeath();
  };
  const wrap = <U extends object>(target: U, counted: boolean): U =>
    new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (!dead && counted && ++calls > after) kill();
          return dead ? new Promise(() => {}) : (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const wrapped = Object.fromEntries(
    Object.entries(parts).map(([name, part]) => [name, wrap(part, name === "store")]),
  ) as T;
  return { ...wrapped, died, kill };
}

export const SIM_FAULTS: readonly Fault[] = [
  { kind: "latency", ms: 150 },
  { kind: "throttle", retryAfterMs: 2_000 },
  { kind: "serverError", status: 503 },
  { kind: "serverError", status: 500 },
  { kind: "malformed" },
  { kind: "truncated" },
  { kind: "drop" },
];
