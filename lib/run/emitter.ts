/**
 * The emitter: an event and its deliveries, created if absent (deterministic ids), so that a run
 * that repeats a crashed run's work creates nothing twice. Webhooks are read once per run.
 *
 * Deliveries due at once, when the run delivers them itself, are created leased to the run and
 * handed straight to it: no claim (a request each on Tablestore, a statement on SQLite), and no
 * other process racing for them. They are due for everyone else when that lease ends, which is
 * where a crash of this run leaves them.
 */
import type { DeliveryRun } from "../delivery/deliver.js";
import { attemptDelay } from "../delivery/schedule.js";
import { buildEvent, createdDelivery, deliveriesFor, type EventType, webhookWants } from "../events.js";
import type { FinishedPart } from "../progress-parts.js";
import type { JsonObject } from "../quanmiao/task.js";
import type { DeliveryRow, TaskRow, WebhookRow } from "../store/store.js";
import type { RunContext } from "./context.js";

export interface EventExtra {
  readonly raw?: JsonObject | undefined;
  readonly taskStatus?: string | undefined;
  readonly reason?: JsonObject | undefined;
  readonly progress?: FinishedPart | undefined;
}

/** Where new deliveries go. */
export interface DeliverySink {
  /** Told when new deliveries were written, with when the first of them is due. */
  noteNew(firstAttemptAtMs: number): void;
  /** When set, deliveries due at once are created leased to the run and handed here. */
  readonly adopt?: ((rows: readonly DeliveryRow[]) => void) | undefined;
}

export class Emitter {
  private webhooks: Promise<WebhookRow[]> | undefined;

  constructor(
    private readonly run: RunContext,
    private readonly deliveryRun: DeliveryRun,
    private readonly sink: DeliverySink,
  ) {}

  /** Whether any webhook receives events of `type` from the workspace (the run's one read of them). */
  async wanted(type: EventType, workspaceId: string): Promise<boolean> {
    this.webhooks ??= this.run.deps.store.listWebhooks();
    return (await this.webhooks).some((w) => webhookWants(w, { type, workspaceId }));
  }

  async emit(task: TaskRow, type: EventType, extra: EventExtra): Promise<void> {
    const { store, clock, random, config } = this.run.deps;
    const nowMs = clock.now();
    const built = buildEvent({ type, task, nowMs, ...extra });
    const firstAttemptAtMs = nowMs + (attemptDelay(config.delivery.retryScheduleMs, 1, random) ?? 0);
    this.webhooks ??= store.listWebhooks();
    const adopt = firstAttemptAtMs <= nowMs ? this.sink.adopt : undefined;
    const lease = adopt ? { leaseOwner: this.run.owner, leaseUntilMs: nowMs + this.run.leaseMs } : undefined;
    // A delivery's row needs only the event's id and type, which are the same whoever wrote it first.
    const rows = deliveriesFor(built, await this.webhooks, task, {
      nowMs,
      firstAttemptAtMs: lease?.leaseUntilMs ?? firstAttemptAtMs,
    });
    // Onto the fresh rows: `{ ...d, ...lease }` costs microseconds a row in V8.
    if (lease) for (const d of rows) Object.assign(d, lease);
    const { event, created, deliveryIds } = await store.createEventWithDeliveries(built, rows);
    if (created) this.run.summary.events++;
    this.deliveryRun.remember(event);
    if (rows.length === 0) return;
    const written = new Set(deliveryIds);
    // Only what this call created is the run's: a delivery that already existed (a repeat of a
    // crashed run's work) keeps its own lease and schedule, and is claimed as usual.
    const adopted = adopt ? rows.filter((d) => written.has(d.id)) : [];
    if (adopted.length > 0) adopt?.(adopted.map(createdDelivery));
    if (adopted.length < rows.length) this.sink.noteNew(firstAttemptAtMs);
  }
}
