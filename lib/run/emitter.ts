/**
 * The emitter: an event and its deliveries, created if absent (deterministic ids), so that a run
 * that repeats a crashed run's work creates nothing twice. Webhooks are read once per run.
 */
import type { DeliveryRun } from "../delivery/deliver.js";
import { attemptDelay } from "../delivery/schedule.js";
import { buildEvent, deliveriesFor, type EventType } from "../events.js";
import type { JsonObject } from "../quanmiao/schema.js";
import type { TaskRow, WebhookRow } from "../store/store.js";
import type { RunContext } from "./context.js";

export interface EventExtra {
  readonly raw?: JsonObject | undefined;
  readonly taskStatus?: string | undefined;
  readonly reason?: JsonObject | undefined;
}

export class Emitter {
  private webhooks: Promise<WebhookRow[]> | undefined;

  constructor(
    private readonly run: RunContext,
    private readonly deliveryRun: DeliveryRun,
    /** Told when new deliveries were written, with when the first of them is due. */
    private readonly onNewDeliveries: (firstAttemptAtMs: number) => void,
  ) {}

  async emit(task: TaskRow, type: EventType, extra: EventExtra): Promise<void> {
    const { store, clock, random, config } = this.run.deps;
    const nowMs = clock.now();
    const { event, created } = await store.createEvent(buildEvent({ type, task, nowMs, ...extra }));
    if (created) this.run.summary.events++;
    this.deliveryRun.remember(event);
    const firstAttemptAtMs = nowMs + (attemptDelay(config.delivery.retryScheduleMs, 1, random) ?? 0);
    this.webhooks ??= store.listWebhooks();
    const rows = deliveriesFor(event, await this.webhooks, task, { nowMs, firstAttemptAtMs });
    if (rows.length === 0) return;
    await store.createDeliveries(rows);
    this.onNewDeliveries(firstAttemptAtMs);
  }
}
