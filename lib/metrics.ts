/**
 * What a run reports as it goes, for `GET /metrics`. An interface with no dependencies, so that the
 * poll and deliver functions (which serve no metrics) carry no metrics library; the Prometheus
 * implementation (prometheus.ts) is built only where metrics are served.
 */
export type PollOutcome = "ended" | "running" | "waiting" | "throttled" | "error" | "not_found" | "refused";
export type AttemptOutcome = "delivered" | "retry" | "dead" | "skipped";

export interface RelayMetrics {
  /** One GetVideoAnalysisTask call and what it said. */
  polled(outcome: PollOutcome): void;
  /** One delivery attempt: its outcome, its event's type, how long the POST took. */
  attempted(outcome: AttemptOutcome, eventType: string, durationMs: number): void;
  /** Deliveries put off without an attempt: their endpoint's circuit was open. */
  deferred(count: number): void;
  /** A running task's end, noticed this long after the poll before it (an upper bound of the delay). */
  detected(delayMs: number): void;
}
