/** A store with deliveries to list: the API's and the CLI's list tests read the same rows. */
import type { DeliveryRow, Store } from "../../lib/store/store.js";

const T0 = Date.parse("2026-12-01T09:00:00Z");

/** Five deliveries a minute apart (msg_0 oldest); msg_1 retrying after a 500, msg_3 dead after a 410. */
export async function seedDeliveries(store: Store): Promise<void> {
  await store.createDeliveries(
    [0, 1, 2, 3, 4].map((i) => ({
      id: `msg_${i}`,
      eventId: `evt_${i}`,
      webhookId: i === 2 ? "wh_other" : "wh_main",
      url: i === 2 ? "https://other.example/hook" : "https://main.example/hook",
      nextAttemptAtMs: T0 + i * 60_000,
      createdAtMs: T0 + i * 60_000,
      eventType: i === 4 ? "video_analysis.failed" : "video_analysis.succeeded",
    })),
  );
  const claimed = await store.claimDueDeliveries({
    owner: "seed",
    nowMs: T0 + 300_000,
    leaseMs: 1_000,
    limit: 10,
    ids: ["msg_1", "msg_3"],
  });
  for (const d of claimed)
    await store.updateDelivery(d as DeliveryRow, "seed", {
      status: d.id === "msg_3" ? "dead" : "pending",
      attempts: 1,
      nextAttemptAtMs: T0 + 900_000,
      lastAttemptAtMs: T0 + 300_000,
      lastStatusCode: d.id === "msg_3" ? 410 : 500,
      lastError: `HTTP ${d.id === "msg_3" ? 410 : 500}`,
      lastResponse: undefined,
    });
}
