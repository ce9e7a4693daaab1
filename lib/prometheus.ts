/**
 * The relay's metrics in Prometheus's text format (prom-client): counters and histograms of what
 * this process did, and gauges read from the store at scrape time (so they are right whichever
 * process did the work). On Function Compute the counters are per instance — the store gauges and
 * the JSON logs are the fleet-wide view.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { isOpen, readCircuit } from "./delivery/circuit.js";
import type { AttemptOutcome, PollOutcome, RelayMetrics } from "./metrics.js";
import type { Store } from "./store/store.js";

/** Pending deliveries are counted up to this many (a store reads no more for one scrape). */
export const PENDING_COUNT_LIMIT = 10_000;

export class PrometheusMetrics implements RelayMetrics {
  readonly registry = new Registry();
  private readonly polls = new Counter({
    name: "quanmiao_relay_polls_total",
    help: "GetVideoAnalysisTask calls by what they said",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly attempts = new Counter({
    name: "quanmiao_relay_delivery_attempts_total",
    help: "Delivery attempts by outcome and event type",
    labelNames: ["outcome", "event_type"] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "quanmiao_relay_delivery_duration_seconds",
    help: "How long a delivery's POST took, answer read",
    labelNames: ["event_type"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [this.registry],
  });
  private readonly detection = new Histogram({
    name: "quanmiao_relay_detection_delay_seconds",
    help: "Time from the poll before an end to the poll that noticed it (an upper bound of the delay)",
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly deferrals = new Counter({
    name: "quanmiao_relay_deliveries_deferred_total",
    help: "Deliveries put off without an attempt because their endpoint's circuit was open",
    registers: [this.registry],
  });
  private readonly circuitOpen = new Gauge({
    name: "quanmiao_relay_endpoint_circuit_open",
    help: "1 while a webhook's circuit is open (deliveries deferred, one probe per cool-down), else 0",
    labelNames: ["webhook_id"] as const,
    registers: [this.registry],
  });
  private readonly endpointFailures = new Gauge({
    name: "quanmiao_relay_endpoint_consecutive_failures",
    help: "Timeouts and connection failures in a row of a webhook's endpoint (0 after any HTTP answer)",
    labelNames: ["webhook_id"] as const,
    registers: [this.registry],
  });
  private readonly pending = new Gauge({
    name: "quanmiao_relay_pending_deliveries",
    help: `Deliveries waiting to be sent or retried (counted up to ${PENDING_COUNT_LIMIT})`,
    registers: [this.registry],
  });
  private readonly oldest = new Gauge({
    name: "quanmiao_relay_oldest_pending_delivery_age_seconds",
    help: "How long the longest-waiting pending delivery has been due (0 when none is due)",
    registers: [this.registry],
  });

  polled(outcome: PollOutcome): void {
    this.polls.inc({ outcome });
  }

  attempted(outcome: AttemptOutcome, eventType: string, durationMs: number): void {
    this.attempts.inc({ outcome, event_type: eventType });
    if (outcome !== "skipped") this.duration.observe({ event_type: eventType }, durationMs / 1000);
  }

  deferred(count: number): void {
    this.deferrals.inc(count);
  }

  detected(delayMs: number): void {
    this.detection.observe(delayMs / 1000);
  }

  /** The text a scrape receives, the store gauges read now. */
  async render(store: Store, nowMs: number): Promise<{ contentType: string; body: string }> {
    const { count, oldestDueMs } = await store.pendingDeliveries(nowMs, PENDING_COUNT_LIMIT);
    this.pending.set(count);
    this.oldest.set(oldestDueMs === undefined ? 0 : Math.max(0, nowMs - oldestDueMs) / 1000);
    // Every webhook's circuit, read now (one setting each): the same answer whichever process scrapes.
    this.circuitOpen.reset();
    this.endpointFailures.reset();
    for (const w of await store.listWebhooks()) {
      const circuit = await readCircuit(store, w.id);
      this.circuitOpen.set({ webhook_id: w.id }, isOpen(circuit) ? 1 : 0);
      this.endpointFailures.set({ webhook_id: w.id }, circuit.failures);
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
