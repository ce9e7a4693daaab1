/**
 * The reliability suite's means of failure: runs that die at a chosen store operation, the API's
 * faults, and webhook endpoints that fail, hang or answer slowly.
 */
import type { Fault } from "../../dev/quanmiao-simulator/faults.js";
import type { Attempt, WebhookSender } from "../../lib/delivery/send.js";
import type { Reply } from "../support/receiver.js";

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
  const made = new Map<string, unknown[]>();
  const wrap = <U extends object>(name: string, target: U): U =>
    new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (!dead && name === "store" && ++calls > after) kill();
          if (dead) return new Promise(() => {});
          const result = (value as (...a: unknown[]) => unknown).apply(t, args);
          const list = made.get(name) ?? [];
          made.set(name, list);
          list.push(result);
          return result;
        };
      },
    });
  const wrapped = Object.fromEntries(Object.entries(parts).map(([name, part]) => [name, wrap(name, part)])) as T;
  /**
   * Waits, at most `withinMs` of real time, for the calls made on `part` before the death to end;
   * false if some had not. A killed process's requests die with it; these cannot be cut from
   * outside, so the trial waits them out rather than let one reach a receiver steps later, when the
   * endpoint may have been disabled since. Only the part asked about is watched: a rejection on
   * another that the run left unhandled must still count as unhandled.
   */
  const drained = async (part: keyof T & string, withinMs: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), withinMs);
    });
    try {
      return await Promise.race([Promise.allSettled(made.get(part) ?? []).then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { ...wrapped, died, kill, drained };
}

/** A request as the relay saw it: when it was begun and, once it ended, whether it got a 2xx. */
interface SeenSend {
  readonly id: string;
  readonly startedAt: number;
  endedAt?: number;
  ok?: boolean;
}

/**
 * `sender`, telling `tap` the webhook-id of every request it is asked to make as it begins; what
 * `tap` returns, if anything, hears whether the request got a 2xx once it ends.
 */
function tappedSends(sender: WebhookSender, tap: (id: string) => ((ok: boolean) => void) | undefined): WebhookSender {
  return new Proxy(sender, {
    get(target, key, receiver) {
      if (key !== "send") return Reflect.get(target, key, receiver);
      return async (attempt: Attempt, nowMs: () => number) => {
        const ended = tap(String(attempt.headers["webhook-id"]));
        const result = await target.send(attempt, nowMs);
        ended?.(result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300);
        return result;
      };
    },
  });
}

/**
 * `sender`, logging every request with what the relay made of it (real time, in order of start):
 * what a receiver acknowledged is not always what the relay saw, when the machine stalls the
 * event loop past the deadline.
 */
function seeingSends(sender: WebhookSender, log: SeenSend[]): WebhookSender {
  return tappedSends(sender, (id) => {
    const seen: SeenSend = { id, startedAt: performance.now() };
    log.push(seen);
    return (ok) => {
      seen.endedAt = performance.now();
      seen.ok = ok;
    };
  });
}

/**
 * Deliveries sent again after the relay saw one of their requests succeed: begun once such a
 * success had come back, or a second success. Only a run killed before recording it may do that.
 */
function resentAfterSeenSuccess(log: readonly SeenSend[], killed: ReadonlySet<string>): string[] {
  const byId = new Map<string, SeenSend[]>();
  for (const s of log) byId.set(s.id, [...(byId.get(s.id) ?? []), s]);
  return [...byId]
    .filter(([id, sends]) => {
      if (killed.has(id)) return false;
      const successes = sends.filter((s) => s.ok);
      const firstBack = Math.min(...successes.map((s) => s.endedAt ?? Number.POSITIVE_INFINITY));
      return successes.length > 1 || sends.some((s) => s.startedAt > firstBack);
    })
    .map(([id]) => id);
}

/**
 * The longest the event loop went without running a timer, in real ms, while watched. The relay,
 * the receivers and the emulators share one loop: a stall past the delivery deadline makes an
 * answer sent in time arrive late, and the relay rightly sends again.
 */
function watchStalls(): { longestMs: () => number; stop: () => void } {
  const EVERY_MS = 10;
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - EVERY_MS);
    last = now;
  }, EVERY_MS);
  timer.unref();
  return { longestMs: () => longest, stop: () => clearInterval(timer) };
}

/**
 * `sender` watched for sends again after a success. One after a success the relay saw is a defect
 * always: only a run killed before recording it may do that. One after a success the receiver
 * sent in time but the relay did not see (a slow answer taken for a timeout, say) is a defect too,
 * unless the loop the two share stalled for half the deadline: then the answer came late and
 * sending again was right. Machines that stall so are loaded ones.
 */
export function watchedSends(sender: WebhookSender) {
  const log: SeenSend[] = [];
  const stalls = watchStalls();
  return {
    sender: seeingSends(sender, log),
    stop: stalls.stop,
    resends(acknowledged: ReadonlyMap<string, number>, killed: ReadonlySet<string>) {
      const longestStallMs = Math.round(stalls.longestMs());
      const sentAgain = [...acknowledged].filter(([id, n]) => n > 1 && !killed.has(id)).map(([id]) => id);
      const excused = longestStallMs >= DELIVERY_TIMEOUT_MS / 2;
      return {
        afterSeenSuccess: resentAfterSeenSuccess(log, killed),
        afterSuccessInTime: excused ? [] : sentAgain,
        afterStall: excused ? sentAgain.length : 0,
        longestStallMs,
      };
    },
  };
}

/** `sender`, adding to `into` the webhook-id of every request it is asked to make. */
export function notingSends(sender: WebhookSender, into: Set<string>): WebhookSender {
  return tappedSends(sender, (id) => {
    into.add(id);
    return undefined;
  });
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

/**
 * The relay's per-attempt deadline in the trials, in real milliseconds: undici and the deadline run
 * on real timers, so an endpoint that hangs costs this much wall time whatever the fake clock says.
 * Small, so that the hangs add little to the suite's run time; above the event-loop stalls measured
 * during trials (the relay, receivers and emulators share one loop: up to some 150 ms, mostly under
 * 90), so that an answer sent in time is not taken for a hang.
 */
export const DELIVERY_TIMEOUT_MS = 200;

/**
 * Real time a hung request may stay open. The relay's deadline ends it after DELIVERY_TIMEOUT_MS;
 * the rest is room for a loaded machine. One the relay never ended stays open for the rest of the
 * trial, far longer.
 */
export const HANG_LIMIT_MS = DELIVERY_TIMEOUT_MS + 3_000;

/** What a receiver does with one request. */
export type ReplyKind = "ok" | "error" | "throttle" | "reset" | "slow" | "late" | "stuck" | "gone";

/**
 * The kinds whose answer reaches the relay whole within its deadline: a success the relay saw.
 * "slow" waits at most a quarter of the deadline, leaving the rest for a stall; "late" waits past it
 * by a tenth and more. The relay's deadline is set before the receiver's delay starts, so a late
 * answer always loses to it, however the event loop is held up.
 */
export const ACKNOWLEDGED: ReadonlySet<ReplyKind> = new Set(["ok", "slow"]);
/**
 * The kinds that send a 2xx status line within the deadline: a stuck endpoint may send it and then
 * stall in the body. The relay may count a delivery as made only after one of these.
 */
export const SUCCESS_SENT: ReadonlySet<ReplyKind> = new Set(["ok", "slow", "stuck"]);

export function receiverReply(kind: ReplyKind, random: () => number): Reply {
  const within = (min: number, max: number) => Math.round(min + random() * (max - min));
  switch (kind) {
    case "ok":
      return {};
    case "error":
      return { status: [500, 502, 503][Math.floor(random() * 3)] as number };
    case "throttle":
      return { status: 429, headers: { "retry-after": "3" } };
    case "reset":
      return { destroy: true };
    case "slow":
      return { delayMs: within(DELIVERY_TIMEOUT_MS / 20, DELIVERY_TIMEOUT_MS / 4) };
    case "late":
      return { delayMs: within(DELIVERY_TIMEOUT_MS * 1.1 + 20, DELIVERY_TIMEOUT_MS * 2) };
    case "stuck":
      return { hang: random() < 0.5 ? "silent" : "mid-body" };
    case "gone":
      return { status: 410 };
  }
}

/** A stretch of steps in which one receiver answers every request the same way. */
export interface EndpointSpell {
  readonly receiver: number;
  readonly kind: "stuck" | "slow" | "late";
  readonly fromStep: number;
  /** Exclusive. */
  readonly toStep: number;
}

/**
 * Each trial has one receiver stuck for a spell (a dead backend behind a live load balancer:
 * connections accepted, nothing answered) and another slow, inside or past the deadline, for one
 * of its own. A spell runs from 3 steps to a little beyond the retry schedule's span, so that some
 * deliveries outlast it and some die of it. `receivers` are the ones enabled throughout, two at
 * least: a spell on an endpoint that was disabled before it would test nothing.
 */
export function endpointSpells(random: () => number, steps: number, receivers: readonly number[]): EndpointSpell[] {
  const at = Math.floor(random() * receivers.length);
  const other = (at + 1 + Math.floor(random() * (receivers.length - 1))) % receivers.length;
  return [
    { receiver: receivers[at] as number, kind: "stuck" as const },
    { receiver: receivers[other] as number, kind: random() < 0.5 ? ("slow" as const) : ("late" as const) },
  ].map((spell) => {
    const length = 3 + Math.floor(random() * 10);
    const fromStep = Math.floor(random() * (steps - length));
    return { ...spell, fromStep, toStep: fromStep + length };
  });
}
