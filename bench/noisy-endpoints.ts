/**
 * What the noisy-neighbours receivers do and report: shared by the receiver process
 * (noisy-receiver.ts) and the scenario (noisy.ts).
 */

/** `ok` answers 204 after HEALTHY_DELAY_MS; `hang` reads the request and never answers; `slow`
 * answers 200 after SLOW_DELAY_MS; `error` answers 500 at once. */
export const BEHAVIOURS = ["ok", "hang", "slow", "error"] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

export const HEALTHY_DELAY_MS = 50;
export const SLOW_DELAY_MS = 5_000;

/** One 2xx answer: which server (its index in the behaviour list), what it carried, and when. */
export interface Answered {
  readonly server: number;
  readonly webhookId: string;
  /** From `traceparent`: the relay uses the event id's hex as the trace id. */
  readonly eventId: string;
  /** The body's `timestamp`, in epoch ms. */
  readonly timestampMs: number;
  readonly arrivedAtMs: number;
  readonly answeredAtMs: number;
}

export interface ReceiverRecords {
  /** Requests each server received, whatever became of them, by index in the behaviour list. */
  readonly requests: number[];
  readonly answered: Answered[];
}
