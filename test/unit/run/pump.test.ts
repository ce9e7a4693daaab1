import { describe, expect, it, vi } from "vitest";
import { openDeliveryRun } from "../../../lib/delivery/deliver.js";
import { Emitter } from "../../../lib/run/emitter.js";
import { DeliveryPump } from "../../../lib/run/pump.js";
import { createWebhook } from "../../../lib/webhooks.js";
import { phases } from "./support.js";

async function pumpFor() {
  const p = phases();
  await createWebhook(
    { store: p.store, clock: p.clock, allowPrivateTargets: true },
    { url: "http://127.0.0.1:9/hook" },
  );
  const deliveryRun = openDeliveryRun({ ...p.deps, config: p.config.delivery, owner: p.run.owner });
  const pump = new DeliveryPump(p.run, deliveryRun, undefined);
  const emitter = new Emitter(p.run, deliveryRun, { noteNew: () => pump.kick() });
  // As a run without fan-out wires it: deliveries due at once are created leased to the run.
  const adopting = new Emitter(p.run, deliveryRun, { noteNew: () => pump.kick(), adopt: (rows) => pump.adopt(rows) });
  return { ...p, pump, emitter, adopting };
}

describe("the delivery pump", () => {
  it("delivers what the emitter writes while it runs, and makes a last pass when stopped", async () => {
    const p = await pumpFor();
    const { task: t1 } = await p.register("llm-a", "t1");
    const { task: t2 } = await p.register("llm-a", "t2");
    p.pump.start();
    await p.emitter.emit(t1, "video_analysis.succeeded", { taskStatus: "SUCCESSED" });
    // Kicked: the pump gathers for a moment (on the fake clock) and delivers, before the run ends.
    await vi.waitFor(() => expect(p.sent).toHaveLength(1));
    await p.emitter.emit(t2, "video_analysis.failed", { taskStatus: "FAILED" });
    await p.pump.stop();
    expect(p.sent.map((s) => JSON.parse(s.body).data.taskId).sort()).toEqual(["t1", "t2"]);
    expect(p.sent.every((s) => s.url === "http://127.0.0.1:9/hook")).toBe(true);
    expect(p.run.summary.delivered).toBe(2);
    expect(p.pump.failed).toBe(false);
  });

  it("stops for a store that fails a claim, and keeps the error for the run to report", async () => {
    const p = await pumpFor();
    p.store.claimDueDeliveries = async () => {
      throw new Error("the store is gone");
    };
    p.pump.start();
    await p.pump.stop();
    expect(p.pump.failed).toBe(true);
    expect((p.pump.error as Error).message).toBe("the store is gone");
  });

  it("delivers what the run created leased to itself without claiming it; others cannot claim it meanwhile", async () => {
    const p = await pumpFor();
    const { task } = await p.register("llm-a", "t1");
    const claimedByPump: string[] = [];
    const claim = p.store.claimDueDeliveries.bind(p.store);
    p.store.claimDueDeliveries = async (c) => {
      const rows = await claim(c);
      claimedByPump.push(...rows.map((r) => r.id));
      return rows;
    };
    await p.adopting.emit(task, "video_analysis.succeeded", { taskStatus: "SUCCESSED" });
    const [created] = (await p.store.listDeliveries({ limit: 10 })).items;
    expect(created).toMatchObject({ status: "pending", leaseOwner: p.run.owner });
    // Due for anyone else only when the run's lease ends: a crash of this run leaves it there.
    expect(created?.nextAttemptAtMs).toBe(p.clock.now() + p.run.leaseMs);
    expect(await claim({ owner: "another-run", nowMs: p.clock.now(), leaseMs: 60_000, limit: 10 })).toEqual([]);
    p.pump.start();
    await p.pump.stop();
    expect(p.sent).toHaveLength(1);
    expect(p.run.summary.delivered).toBe(1);
    expect((await p.store.getDelivery(created?.id as string))?.status).toBe("delivered");
    expect(claimedByPump).toEqual([]);
    expect(await claim({ owner: "x", nowMs: p.clock.now() + p.run.leaseMs, leaseMs: 1, limit: 10 })).toEqual([]);
  });

  it("claims from the store at its start and when kicked, not for each adopted delivery", async () => {
    const p = await pumpFor();
    let claims = 0;
    const claim = p.store.claimDueDeliveries.bind(p.store);
    p.store.claimDueDeliveries = async (c) => {
      claims++;
      return claim(c);
    };
    p.pump.start();
    await vi.waitFor(() => expect(claims).toBe(1)); // the first pass: something may be due from before
    for (const id of ["t1", "t2", "t3"]) {
      const { task } = await p.register("llm-a", id);
      await p.adopting.emit(task, "video_analysis.succeeded", { taskStatus: "SUCCESSED" });
    }
    await vi.waitFor(() => expect(p.sent).toHaveLength(3));
    expect(claims).toBe(1);
    await p.pump.stop(); // its last pass claims once more: retries this run scheduled may be due
    expect(claims).toBe(2);
  });
});
