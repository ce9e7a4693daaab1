/** How a batched attempt reads PutEvents' answers, with a scripted publisher (no network). */
import { describe, expect, it, onTestFinished } from "vitest";
import { seededRandom } from "../../../dev/seeded-random.js";
import { loadConfig } from "../../../lib/config.js";
import { readCircuit } from "../../../lib/delivery/circuit.js";
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
import {
  attemptEventBridgeBatch,
  busAddress,
  type EventBridgeWebhook,
} from "../../../lib/delivery/eventbridge-batch.js";
import { WebhookSender } from "../../../lib/delivery/send.js";
import type { BusAddress, PutEventsOutcome } from "../../../lib/eventbridge/client.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { busWebhook, seedDeliveries } from "../../support/eventbridge.js";
import { FakeClock } from "../../support/fake-clock.js";

const answered = (errors: Array<string | undefined>): PutEventsOutcome => ({
  kind: "answered",
  statusCode: 200,
  requestId: "req-1",
  entries: errors.map((code, i) => ({
    eventId: `e${i}`,
    traceId: `t${i}`,
    errorCode: code,
    errorMessage: code ? "no" : undefined,
  })),
  durationMs: 5,
});

async function setUp(answers: PutEventsOutcome[], n: number, over: { accountId?: string | undefined } = {}) {
  const clock = new FakeClock();
  const store = new SqliteStore(":memory:");
  const sender = new WebhookSender({ timeoutMs: 1_000 });
  onTestFinished(async () => {
    await sender.close();
    store.close();
  });
  const sent: Array<{ address: BusAddress; events: number }> = [];
  const publisher = {
    async putEvents(address: BusAddress, body: string) {
      sent.push({ address, events: JSON.parse(body).length });
      const next = answers.shift();
      if (!next) throw new Error("no answer scripted");
      return next;
    },
    close: async () => {},
  };
  const webhook = busWebhook("wh_bus") as EventBridgeWebhook;
  await store.createWebhook(webhook);
  const big = n > 16 ? () => ({ pad: "p".repeat(40_000) }) : () => ({});
  await seedDeliveries(store, "wh_bus", n, clock.now(), big);
  const run = openDeliveryRun({
    store,
    clock,
    sleep: clock.sleep,
    random: seededRandom("batch"),
    config: loadConfig({}).delivery,
    sender,
    owner: "unit",
    eventBridge: { publisher, region: "cn-hangzhou", accountId: "accountId" in over ? over.accountId : "42" },
  });
  const rows = await store.claimDueDeliveries({ owner: "unit", nowMs: clock.now(), leaseMs: 60_000, limit: 100 });
  rows.sort((a, b) => a.createdAtMs - b.createdAtMs);
  return { clock, store, run, rows, sent, webhook };
}

describe("a batched EventBridge attempt", () => {
  it("fails the entries the answer has no result for, and delivers the rest", async () => {
    const t = await setUp([answered([undefined, "Throttled"])], 3);
    const { outcomes } = await attemptEventBridgeBatch(t.rows, t.webhook, t.run);
    expect(outcomes).toEqual(["delivered", "retry", "retry"]);
    expect(t.sent).toEqual([{ address: { region: "cn-hangzhou", accountId: "42" }, events: 3 }]);
    const rows = await Promise.all(t.rows.map((r) => t.store.getDelivery(r.id)));
    expect(rows.map((r) => r?.lastError)).toEqual([
      undefined,
      "EventBridge Throttled: no",
      "EventBridge answered without a result for this entry",
    ]);
    expect(rows[0]?.lastResponse).toBe(JSON.stringify({ RequestId: "req-1", EventId: "e0", TraceId: "t0" }));
  });

  it("an auth code trips the circuit whatever the status; the code is on every row", async () => {
    const refusal: PutEventsOutcome = {
      kind: "refused",
      statusCode: 400,
      code: "StsAccessIdExpired",
      message: "expired",
      requestId: "r",
      retryAfterMs: undefined,
      excerpt: "{}",
      durationMs: 1,
    };
    const t = await setUp([refusal], 2);
    const { outcomes, reached } = await attemptEventBridgeBatch(t.rows, t.webhook, t.run);
    expect(outcomes).toEqual(["retry", "retry"]);
    expect(reached).toBe("answered");
    expect((await t.store.getDelivery(t.rows[0]?.id ?? ""))?.lastError).toBe("EventBridge StsAccessIdExpired: expired");
    expect((await readCircuit(t.store, "wh_bus")).openUntilMs).toBe(t.clock.now() + 30_000);
  });

  it("without an account id, records why on each row and sends nothing", async () => {
    const t = await setUp([], 2, { accountId: undefined });
    const { outcomes } = await attemptEventBridgeBatch(t.rows, t.webhook, t.run);
    expect(outcomes).toEqual(["retry", "retry"]);
    expect(t.sent).toEqual([]);
    expect((await t.store.getDelivery(t.rows[1]?.id ?? ""))?.lastError).toBe(
      "EventBridge: the bus has no account id: register it with one, or set FC_ACCOUNT_ID",
    );
  });

  it("splits rows by size; after a request nobody answered, the rest are given back unattempted", async () => {
    const t = await setUp(
      [{ kind: "failed", failure: "timeout", error: "EventBridge did not answer in time", durationMs: 1 }],
      17,
    );
    const { outcomes, reached } = await attemptEventBridgeBatch(t.rows, t.webhook, t.run);
    // About 40 KB each: six to a 256 KiB request; the first request timed out, so nothing more was sent.
    expect(t.sent).toEqual([{ address: { region: "cn-hangzhou", accountId: "42" }, events: 6 }]);
    expect(reached).toBe("unreachable");
    expect(outcomes.filter((o) => o === "retry")).toHaveLength(6);
    expect(outcomes.filter((o) => o === "skipped")).toHaveLength(11);
    const after = await Promise.all(t.rows.map((r) => t.store.getDelivery(r.id)));
    const latest = Math.max(...after.slice(0, 6).map((d) => d?.nextAttemptAtMs ?? 0));
    expect(latest).toBeGreaterThan(t.clock.now());
    // Untried: no attempt counted, no lease, due when the latest of the tried ones is.
    for (const d of after.slice(6))
      expect(d).toMatchObject({ attempts: 0, leaseOwner: undefined, nextAttemptAtMs: latest });
  });

  it("takes a bus's region and account from the relay when it has none, and says which is missing", () => {
    expect(busAddress({ busName: "b" }, { region: "cn-beijing", accountId: "1" })).toEqual({
      region: "cn-beijing",
      accountId: "1",
    });
    expect(
      busAddress({ busName: "b", region: "cn-hangzhou", accountId: "2" }, { region: "x1", accountId: "1" }),
    ).toEqual({ region: "cn-hangzhou", accountId: "2" });
    expect(busAddress({ busName: "b" }, { accountId: "1" })).toMatch(/no region/);
    expect(busAddress({ busName: "b", accountId: "evil.example.com/" }, { region: "r1" })).toMatch(/no account id/);
  });
});
