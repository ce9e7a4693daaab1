/** What delivery outcomes do to an endpoint's standing: the 5-day disable clock, and 410 Gone. */
import type { DeliveryConfig } from "../config.js";
import type { Store, WebhookRow } from "../store/store.js";

/** What of a delivery run this needs (deliver.ts's DeliveryRun has it). */
export interface HealthRun {
  readonly deps: {
    readonly store: Pick<Store, "getWebhook" | "updateWebhook">;
    readonly config: Pick<DeliveryConfig, "disableAfterMs">;
  };
  forgetWebhook(id: string): void;
}

/**
 * Endpoint health: a success clears the failure clock; the first failure starts it; a failure more
 * than `disableAfterMs` after it (no success in between) disables the endpoint, as does a 410.
 */
export async function noteEndpoint(
  run: HealthRun,
  webhookId: string,
  what: "success" | "failure" | "gone",
  nowMs: number,
) {
  const { store, config } = run.deps;
  const current = await store.getWebhook(webhookId);
  if (!current) return;
  let next: WebhookRow | undefined;
  if (what === "success") next = { ...current, failingSinceMs: undefined };
  else if (what === "gone")
    next = { ...current, enabled: false, disabledReason: `HTTP 410 Gone at ${new Date(nowMs).toISOString()}` };
  else if (current.failingSinceMs === undefined) next = { ...current, failingSinceMs: nowMs };
  else if (current.enabled && nowMs - current.failingSinceMs >= config.disableAfterMs) {
    next = {
      ...current,
      enabled: false,
      disabledReason: `failing without a success since ${new Date(current.failingSinceMs).toISOString()}`,
    };
  }
  if (next) {
    await store.updateWebhook(next);
    run.forgetWebhook(webhookId);
  }
}
