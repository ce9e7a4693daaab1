/**
 * A trial's webhook endpoints: four receivers on loopback, registered as webhooks, answering each
 * request as the seeded schedule says, and the record of what each request got.
 */
import type { ManualClock } from "../../dev/manual-clock.js";
import { createWebhook } from "../../lib/webhooks.js";
import { type Hangs, type Received, startReceiver } from "../support/receiver.js";
import { ACKNOWLEDGED, type EndpointSpell, type ReplyKind, receiverReply, SUCCESS_SENT } from "./faults.js";

export interface Subscriber {
  readonly id: string;
  readonly received: readonly Received[];
  /** The step each request arrived in, by request index. */
  readonly steps: readonly number[];
  /** What each request got, by request index. */
  readonly kinds: readonly ReplyKind[];
  readonly hangs: Readonly<Hangs>;
  disabledFromStep?: number;
}

/**
 * Mostly healthy, with seeded failures; receiver 2 answers 410 at some point (and the relay then
 * disables it), receiver 3 is the one the trial has its owner disable; `spells` put one receiver
 * into hanging or answering slowly for a stretch of steps. Once `healthy()`, every answer is a
 * plain 200, but for an endpoint that is gone: that stays gone.
 */
export async function startEndpoints(options: {
  clock: ManualClock;
  registration: Parameters<typeof createWebhook>[0];
  replies: () => number;
  spells: readonly EndpointSpell[];
  step: () => number;
  healthy: () => boolean;
}) {
  const { replies, spells, step } = options;
  let faults = 0;
  const replyKind = (receiver: number, gone: { atStep?: number } | undefined): ReplyKind => {
    if (gone?.atStep !== undefined) return "gone";
    if (options.healthy()) return "ok";
    const spell = spells.find((s) => s.receiver === receiver && step() >= s.fromStep && step() < s.toStep);
    if (spell) return spell.kind;
    const roll = replies();
    if (gone && step() > 20 && roll < 0.1) {
      gone.atStep = step();
      return "gone";
    }
    if (roll < 0.6) return "ok";
    if (roll < 0.7) return "error";
    if (roll < 0.77) return "throttle";
    if (roll < 0.84) return "reset";
    if (roll < 0.89) return "slow";
    if (roll < 0.93) return "late";
    return "stuck";
  };
  const subscribers: Subscriber[] = [];
  for (const [receiver, gone] of [undefined, undefined, {} as { atStep?: number }, undefined].entries()) {
    let secret = "";
    const steps: number[] = [];
    const kinds: ReplyKind[] = [];
    const rx = await startReceiver({
      secret: () => secret,
      now: () => options.clock.now(),
      reply: (_r, i) => {
        steps[i] = step();
        const kind = replyKind(receiver, gone);
        kinds[i] = kind;
        if (kind !== "ok" && kind !== "gone") faults++;
        return receiverReply(kind, replies);
      },
    });
    const created = await createWebhook(options.registration, { url: rx.url });
    secret = created.secret;
    subscribers.push({ id: created.webhook.id, received: rx.received, steps, kinds, hangs: rx.hangs });
  }
  return { subscribers, faults: () => faults };
}

/**
 * Waits, at most `withinMs` of real time, for every hung request to be closed, and says how many
 * are still open. Once the runs have returned, the relay's deadlines have fired; the closes may
 * still be on their way through the event loop.
 */
export async function hangsLeftOpen(subscribers: readonly Subscriber[], withinMs: number): Promise<number> {
  const open = () => subscribers.reduce((n, s) => n + s.hangs.open, 0);
  for (const until = performance.now() + withinMs; open() > 0 && performance.now() < until; )
    await new Promise((resolve) => setTimeout(resolve, 10));
  return open();
}

/** Every request the receivers got, counted per delivery (its webhook-id) and per kind of answer. */
export function tallyRequests(subscribers: readonly Subscriber[]) {
  let unverified = 0;
  /** Requests per delivery that got a 2xx status in time: only after one may it count as delivered. */
  const successSent = new Map<string, number>();
  /** Acknowledged sends per delivery: more than one means it was sent again after a success. */
  const acknowledged = new Map<string, number>();
  const answered = new Map<ReplyKind, number>();
  const add = <K>(counts: Map<K, number>, key: K) => counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const s of subscribers) {
    for (const [i, r] of s.received.entries()) {
      if (!r.verified) unverified++;
      const id = String(r.headers["webhook-id"]);
      const kind = s.kinds[i] as ReplyKind;
      add(answered, kind);
      if (SUCCESS_SENT.has(kind)) add(successSent, id);
      if (ACKNOWLEDGED.has(kind)) add(acknowledged, id);
    }
  }
  return { unverified, successSent, acknowledged, answered };
}
