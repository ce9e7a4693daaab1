/**
 * The Store contract, as tests any implementation must pass. SQLite runs it today; the Tablestore
 * store will run the same suite against the emulator.
 */
import { describe, expect, it } from "vitest";
import type { DeliveryRow, Store, TaskRow } from "../../lib/store/store.js";
import { eventHistoryConformance, T0 } from "./store-conformance-events.js";
import { listingConformance } from "./store-conformance-listing.js";
import { webhookConformance } from "./store-conformance-webhooks.js";

/** Ends a task its caller claimed, as a finished poll does. */
const markDone = (store: Store, task: TaskRow, owner: string) =>
  store.updateTask(task, owner, {
    state: "done",
    status: "SUCCESSED",
    nextPollAtMs: T0,
    pollCount: 1,
    pollsInStatus: 0,
    terminalAtMs: T0,
  });

export function storeConformance(name: string, open: () => Promise<Store>): void {
  eventHistoryConformance(name, open);
  webhookConformance(name, open);
  listingConformance(name, open);
  describe(`Store contract: ${name}`, () => {
    it("registers a task once; a repeat only adds new per-task URLs", async () => {
      const store = await open();
      const first = await store.registerTask(
        { workspaceId: "w", taskId: "t", webhookUrls: ["https://a/"], metadata: { k: 1 } },
        T0,
      );
      expect(first.created).toBe(true);
      expect(first.task).toMatchObject({
        state: "active",
        submittedAtMs: T0,
        registeredAtMs: T0,
        nextPollAtMs: T0,
        pollCount: 0,
        metadata: { k: 1 },
      });
      const again = await store.registerTask(
        { workspaceId: "w", taskId: "t", webhookUrls: ["https://a/", "https://b/"], metadata: { k: 2 } },
        T0 + 5,
      );
      expect(again.created).toBe(false);
      expect(again.task.webhookUrls).toEqual(["https://a/", "https://b/"]);
      expect((await store.getTask("w", "t"))?.metadata).toEqual({ k: 1 });
      expect((await store.getTask("w", "t"))?.registeredAtMs).toBe(T0);
    });

    it("claims only due, unleased, active tasks, soonest first, and leases them", async () => {
      const store = await open();
      for (const [id, due] of [
        ["a", T0 + 30],
        ["b", T0 + 10],
        ["c", T0 + 999],
        ["d", T0 + 20],
      ] as const) {
        await store.registerTask({ workspaceId: "w", taskId: id, firstPollAtMs: due }, T0);
      }
      const claimed = await store.claimDueTasks({ owner: "one", nowMs: T0 + 100, leaseMs: 1_000, limit: 2 });
      expect(claimed.map((t) => t.taskId)).toEqual(["b", "d"]);
      expect(claimed.every((t) => t.leaseOwner === "one" && t.leaseUntilMs === T0 + 1_100)).toBe(true);
      const second = await store.claimDueTasks({ owner: "two", nowMs: T0 + 100, leaseMs: 1_000, limit: 10 });
      expect(second.map((t) => t.taskId)).toEqual(["a"]);
      expect(await store.claimDueTasks({ owner: "three", nowMs: T0 + 100, leaseMs: 1_000, limit: 10 })).toEqual([]);
    });

    it("a lease expires: a crashed owner's task comes back; the old owner can no longer write", async () => {
      const store = await open();
      await store.registerTask({ workspaceId: "w", taskId: "t" }, T0);
      const [stale] = await store.claimDueTasks({ owner: "crashed", nowMs: T0, leaseMs: 1_000, limit: 1 });
      expect(await store.claimDueTasks({ owner: "other", nowMs: T0 + 999, leaseMs: 1_000, limit: 1 })).toEqual([]);
      const back = await store.claimDueTasks({ owner: "other", nowMs: T0 + 1_000, leaseMs: 1_000, limit: 1 });
      expect(back.map((t) => t.leaseOwner)).toEqual(["other"]);
      const update = { nextPollAtMs: T0 + 5_000, pollCount: 1, pollsInStatus: 0, status: "RUNNING" };
      // The crashed owner still holds its old copy of the row: its write must fail all the same.
      expect(await store.updateTask(stale as TaskRow, "crashed", update)).toBe(false);
      expect(await store.updateTask(back[0] as TaskRow, "other", update)).toBe(true);
      expect(await store.getTask("w", "t")).toMatchObject({
        status: "RUNNING",
        leaseOwner: undefined,
        leaseUntilMs: 0,
        nextPollAtMs: T0 + 5_000,
      });
    });

    it("keeps a task's profile, and sets runningSinceMs once through updateTask", async () => {
      const store = await open();
      await store.registerTask({ workspaceId: "w", taskId: "p", profile: "videoGenerate|quanmiao-vl-max" }, T0);
      await store.registerTask({ workspaceId: "w", taskId: "q", firstPollAtMs: T0 + 999_999 }, T0);
      expect(await store.getTask("w", "q")).toMatchObject({ profile: undefined, runningSinceMs: undefined });
      const [claimed] = await store.claimDueTasks({ owner: "o", nowMs: T0, leaseMs: 1_000, limit: 1 });
      expect(claimed).toMatchObject({
        taskId: "p",
        profile: "videoGenerate|quanmiao-vl-max",
        runningSinceMs: undefined,
      });
      const running = { status: "RUNNING", nextPollAtMs: T0 + 10, pollCount: 1, pollsInStatus: 0 };
      expect(await store.updateTask(claimed as TaskRow, "o", { ...running, runningSinceMs: T0 - 500 })).toBe(true);
      const [again] = await store.claimDueTasks({ owner: "o", nowMs: T0 + 10, leaseMs: 1_000, limit: 1 });
      expect(again?.runningSinceMs).toBe(T0 - 500);
      // An update without it leaves it as it is.
      expect(await store.updateTask(again as TaskRow, "o", { ...running, nextPollAtMs: T0 + 20 })).toBe(true);
      expect(await store.getTask("w", "p")).toMatchObject({
        runningSinceMs: T0 - 500,
        profile: "videoGenerate|quanmiao-vl-max",
      });
    });

    it("keeps the progress parts a poll reported, and leaves them when an update does not name them", async () => {
      const store = await open();
      await store.registerTask({ workspaceId: "w", taskId: "pp" }, T0);
      const [claimed] = await store.claimDueTasks({ owner: "o", nowMs: T0, leaseMs: 1_000, limit: 1 });
      expect(claimed?.progressParts).toBeUndefined();
      const running = { status: "RUNNING", nextPollAtMs: T0 + 10, pollCount: 1, pollsInStatus: 0 };
      const parts = ["videoCaptionResult", "videoGenerateResults[2]"];
      expect(await store.updateTask(claimed as TaskRow, "o", { ...running, progressParts: parts })).toBe(true);
      const [again] = await store.claimDueTasks({ owner: "o", nowMs: T0 + 10, leaseMs: 1_000, limit: 1 });
      expect(again?.progressParts).toEqual(parts);
      expect(await store.updateTask(again as TaskRow, "o", { ...running, nextPollAtMs: T0 + 20 })).toBe(true);
      expect((await store.getTask("w", "pp"))?.progressParts).toEqual(parts);
    });

    it("keeps a task's video duration from its first registration, as it keeps the profile", async () => {
      const store = await open();
      const first = await store.registerTask({ workspaceId: "w", taskId: "v", videoDurationMs: 93_500 }, T0);
      expect(first.task.videoDurationMs).toBe(93_500);
      // A repeat without the hint, or with another, changes nothing.
      expect((await store.registerTask({ workspaceId: "w", taskId: "v" }, T0 + 1)).task.videoDurationMs).toBe(93_500);
      await store.registerTask(
        { workspaceId: "w", taskId: "v", videoDurationMs: 1_000, webhookUrls: ["https://a/"] },
        T0,
      );
      expect(await store.getTask("w", "v")).toMatchObject({ videoDurationMs: 93_500, webhookUrls: ["https://a/"] });
      await store.registerTask({ workspaceId: "w", taskId: "u" }, T0);
      expect((await store.getTask("w", "u"))?.videoDurationMs).toBeUndefined();
      // A claim hands the poller the whole row, the hint with it.
      const claimed = await store.claimDueTasks({ owner: "o", nowMs: T0 + 1, leaseMs: 1_000, limit: 10 });
      expect(Object.fromEntries(claimed.map((t) => [t.taskId, t.videoDurationMs]))).toEqual({
        v: 93_500,
        u: undefined,
      });
    });

    it("counts the active tasks queued at or before a time, up to a limit", async () => {
      const store = await open();
      for (const [id, at] of [
        ["a", T0],
        ["b", T0 + 10],
        ["c", T0 + 20],
      ] as const)
        await store.registerTask({ workspaceId: "w", taskId: id, submittedAtMs: at, firstPollAtMs: at }, T0);
      await store.registerTask({ workspaceId: "other", taskId: "x", submittedAtMs: T0, firstPollAtMs: T0 + 999 }, T0);
      expect(await store.countQueuedAhead("w", T0 + 10, 10)).toBe(2);
      expect(await store.countQueuedAhead("w", T0 + 99, 2)).toBe(2);
      expect(await store.countQueuedAhead("w", T0 - 1, 10)).toBe(0);
      expect(await store.countQueuedAhead("nobody", T0 + 99, 10)).toBe(0);
      const [a] = await store.claimDueTasks({ owner: "o", nowMs: T0 + 5, leaseMs: 10, limit: 1 });
      expect(a?.taskId).toBe("a");
      expect(await markDone(store, a as TaskRow, "o")).toBe(true);
      expect(await store.countQueuedAhead("w", T0 + 99, 10)).toBe(2);
    });

    it("done tasks are never claimed; the queue order is submission order", async () => {
      const store = await open();
      await store.registerTask({ workspaceId: "w", taskId: "late", submittedAtMs: T0 + 50 }, T0);
      await store.registerTask({ workspaceId: "w", taskId: "early", submittedAtMs: T0 + 10 }, T0);
      await store.registerTask({ workspaceId: "w", taskId: "done", submittedAtMs: T0 }, T0);
      await store.registerTask({ workspaceId: "x", taskId: "elsewhere", submittedAtMs: T0 }, T0);
      const [d] = await store.claimDueTasks({ owner: "o", nowMs: T0, leaseMs: 10, limit: 1 });
      expect(d?.taskId).toBe("done");
      expect(await markDone(store, d as TaskRow, "o")).toBe(true);
      expect((await store.oldestActiveTasks("w", 10)).map((t) => t.taskId)).toEqual(["early", "late"]);
      const all = await store.claimDueTasks({ owner: "p", nowMs: T0 + 100, leaseMs: 10, limit: 10 });
      expect(all.map((t) => t.taskId).sort()).toEqual(["early", "elsewhere", "late"]);
    });

    it("pollSooner only moves an unleased task earlier, and only while it is due as read", async () => {
      const store = await open();
      await store.registerTask({ workspaceId: "w", taskId: "t", firstPollAtMs: T0 + 1_000 }, T0);
      const read = { workspaceId: "w", taskId: "t", nextPollAtMs: T0 + 1_000 };
      expect(await store.pollSooner(read, T0 + 2_000, T0)).toBe(false);
      expect(await store.pollSooner(read, T0 + 500, T0)).toBe(true);
      expect((await store.getTask("w", "t"))?.nextPollAtMs).toBe(T0 + 500);
      // What the caller read is stale now: no move.
      expect(await store.pollSooner(read, T0 + 400, T0)).toBe(false);
      const moved = { ...read, nextPollAtMs: T0 + 500 };
      await store.claimDueTasks({ owner: "o", nowMs: T0 + 500, leaseMs: 1_000, limit: 1 });
      expect(await store.pollSooner(moved, T0 + 450, T0 + 600)).toBe(false);
      // Claimed and ended: never moved again.
      expect((await store.getTask("w", "t"))?.nextPollAtMs).toBe(T0 + 500);
    });

    it("pages tasks and deliveries with opaque cursors", async () => {
      const store = await open();
      for (let i = 0; i < 7; i++) await store.registerTask({ workspaceId: "w", taskId: `t${i}` }, T0);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listTasks({ limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((t) => t.taskId));
        cursor = page.cursor;
      } while (cursor);
      // Registered in the same millisecond: newest first by key, the greater first.
      expect(seen).toEqual(["t6", "t5", "t4", "t3", "t2", "t1", "t0"]);
      await expect(store.listTasks({ limit: 3, cursor: "garbage" })).rejects.toThrow(/cursor/);
    });

    it("creates events and deliveries once, whatever the number of writers", async () => {
      const store = await open();
      const event = {
        id: "evt_1",
        type: "video_analysis.succeeded",
        workspaceId: "w",
        taskId: "t",
        body: '{"a":1}',
        createdAtMs: T0,
      };
      const results = await Promise.all([
        store.createEvent(event),
        store.createEvent({ ...event, body: '{"a":2}', createdAtMs: T0 + 1 }),
      ]);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect((await store.getEvent("evt_1"))?.body).toBe('{"a":1}');
      const rows = [1, 2, 3].map((i) => ({
        id: `msg_${i}`,
        eventId: "evt_1",
        webhookId: `wh_${i}`,
        url: "https://x/",
        nextAttemptAtMs: T0,
        createdAtMs: T0,
      }));
      expect(await store.createDeliveries(rows)).toEqual(["msg_1", "msg_2", "msg_3"]);
      expect(await store.createDeliveries([...rows, { ...rows[0], id: "msg_4" } as (typeof rows)[0]])).toEqual([
        "msg_4",
      ]);
      expect((await store.listDeliveries({ eventId: "evt_1", limit: 10 })).items).toHaveLength(4);
    });

    it("claims deliveries with leases, records attempts only for the lease holder, replays", async () => {
      const store = await open();
      await store.createDeliveries([
        { id: "msg_a", eventId: "e", webhookId: "wh", url: "u", nextAttemptAtMs: T0, createdAtMs: T0 },
        { id: "msg_b", eventId: "e", webhookId: "wh", url: "u", nextAttemptAtMs: T0 + 60_000, createdAtMs: T0 },
      ]);
      const [a] = await store.claimDueDeliveries({ owner: "o", nowMs: T0, leaseMs: 1_000, limit: 10 });
      expect(a?.id).toBe("msg_a");
      expect(await store.claimDueDeliveries({ owner: "p", nowMs: T0, leaseMs: 1_000, limit: 10 })).toEqual([]);
      const update = {
        status: "dead" as const,
        attempts: 1,
        nextAttemptAtMs: T0,
        lastAttemptAtMs: T0,
        lastStatusCode: 500,
        lastError: "HTTP 500",
        lastResponse: "x".repeat(4096),
      };
      expect(await store.updateDelivery(a as DeliveryRow, "p", update)).toBe(false);
      expect(await store.updateDelivery(a as DeliveryRow, "o", update)).toBe(true);
      expect((await store.listDeliveries({ status: "dead", limit: 10 })).items.map((d) => d.id)).toEqual(["msg_a"]);
      const replayed = await store.replayDelivery("msg_a", T0 + 5);
      expect(replayed).toMatchObject({
        status: "pending",
        attempts: 1,
        nextAttemptAtMs: T0 + 5,
        lastError: "HTTP 500",
      });
      expect(
        (await store.claimDueDeliveries({ owner: "q", nowMs: T0 + 5, leaseMs: 1, limit: 10, ids: ["msg_a"] })).map(
          (d) => d.id,
        ),
      ).toEqual(["msg_a"]);
    });

    it("gives a delivery back without an attempt: only its holder can, and it is due when asked", async () => {
      const store = await open();
      await store.createDeliveries([
        { id: "msg_r", eventId: "e", webhookId: "wh", url: "u", nextAttemptAtMs: T0, createdAtMs: T0 },
        // Created leased to a run, its due time the lease's end (as a run's own new deliveries are).
        {
          id: "msg_own",
          eventId: "e",
          webhookId: "wh",
          url: "u",
          nextAttemptAtMs: T0 + 90_000,
          createdAtMs: T0,
          leaseOwner: "o",
          leaseUntilMs: T0 + 90_000,
        },
      ]);
      const [r] = await store.claimDueDeliveries({ owner: "o", nowMs: T0, leaseMs: 60_000, limit: 10 });
      expect(await store.releaseDelivery(r as DeliveryRow, "p", T0 + 30_000)).toBe(false);
      expect(await store.releaseDelivery(r as DeliveryRow, "o", T0 + 30_000)).toBe(true);
      expect(await store.getDelivery("msg_r")).toMatchObject({
        status: "pending",
        attempts: 0,
        nextAttemptAtMs: T0 + 30_000,
        leaseOwner: undefined,
        leaseUntilMs: 0,
        lastAttemptAtMs: undefined,
      });
      // Deferred: not due before its time, due after it, to anyone.
      expect(await store.claimDueDeliveries({ owner: "q", nowMs: T0 + 29_999, leaseMs: 1, limit: 10 })).toEqual([]);
      const own = (await store.getDelivery("msg_own")) as DeliveryRow;
      expect(await store.releaseDelivery(own, "o", T0)).toBe(true);
      const due = await store.claimDueDeliveries({ owner: "q", nowMs: T0 + 30_000, leaseMs: 1, limit: 10 });
      expect(due.map((d) => d.id).sort()).toEqual(["msg_own", "msg_r"]);
      expect(await store.dueDeliveries(T0 + 30_001, 10)).toHaveLength(2);
    });

    it("lists due delivery ids without claiming them: not leased, not future, not finished", async () => {
      const store = await open();
      const row = (id: string, dueMs: number) => ({
        id,
        eventId: "e",
        webhookId: "wh",
        url: "u",
        nextAttemptAtMs: dueMs,
        createdAtMs: T0,
      });
      await store.createDeliveries([
        row("msg_late", T0 - 10),
        row("msg_early", T0 - 20),
        row("msg_leased", T0 - 30),
        row("msg_done", T0 - 40),
        row("msg_future", T0 + 60_000),
      ]);
      await store.claimDueDeliveries({ owner: "o", nowMs: T0, leaseMs: 5_000, limit: 1, ids: ["msg_leased"] });
      const [done] = await store.claimDueDeliveries({
        owner: "o",
        nowMs: T0,
        leaseMs: 5_000,
        limit: 1,
        ids: ["msg_done"],
      });
      await store.updateDelivery(done as DeliveryRow, "o", {
        status: "delivered",
        attempts: 1,
        nextAttemptAtMs: T0,
        lastAttemptAtMs: T0,
        lastStatusCode: 204,
        lastError: undefined,
        lastResponse: undefined,
        deliveredAtMs: T0,
      });
      const ids = async (nowMs: number, limit: number, after?: { dueMs: number; id: string }) =>
        (await store.dueDeliveries(nowMs, limit, after)).map((d) => d.id);
      expect(await store.dueDeliveries(T0, 10)).toEqual([
        { id: "msg_early", dueMs: T0 - 20 },
        { id: "msg_late", dueMs: T0 - 10 },
      ]);
      // Page by page: strictly after the last position seen.
      expect(await ids(T0, 1)).toEqual(["msg_early"]);
      expect(await ids(T0, 1, { dueMs: T0 - 20, id: "msg_early" })).toEqual(["msg_late"]);
      expect(await ids(T0, 1, { dueMs: T0 - 10, id: "msg_late" })).toEqual([]);
      // Reading claimed nothing: a claim still gets them, and afterwards they are no longer listed.
      const claimed = await store.claimDueDeliveries({ owner: "p", nowMs: T0, leaseMs: 5_000, limit: 10 });
      expect(claimed.map((d) => d.id)).toEqual(["msg_early", "msg_late"]);
      expect(await ids(T0, 10)).toEqual([]);
      // Once the leases run out, the leased rows are due again.
      expect(await ids(T0 + 5_000, 10)).toEqual(["msg_leased", "msg_early", "msg_late"]);
    });

    it("finds due deliveries behind many in flight (leased) ones", async () => {
      const store = await open();
      const inFlight = Array.from({ length: 30 }, (_, i) => ({
        id: `msg_busy_${String(i).padStart(2, "0")}`,
        eventId: "e",
        webhookId: "wh",
        url: "u",
        nextAttemptAtMs: T0 - 100 + i,
        createdAtMs: T0,
      }));
      await store.createDeliveries([
        ...inFlight,
        { id: "msg_waiting", eventId: "e", webhookId: "wh", url: "u", nextAttemptAtMs: T0, createdAtMs: T0 },
      ]);
      const claimed = await store.claimDueDeliveries({
        owner: "busy",
        nowMs: T0,
        leaseMs: 60_000,
        limit: 30,
        ids: inFlight.map((d) => d.id),
      });
      expect(claimed).toHaveLength(30);
      expect((await store.dueDeliveries(T0, 5)).map((d) => d.id)).toEqual(["msg_waiting"]);
    });

    it("keeps a large event body (near a Tablestore column's 2 MB limit) byte for byte", async () => {
      const store = await open();
      const body = JSON.stringify({ text: "视频".repeat(300_000) });
      await store.createEvent({ id: "evt_big", type: "t", workspaceId: "w", taskId: "t", body, createdAtMs: T0 });
      expect((await store.getEvent("evt_big"))?.body).toBe(body);
    });
  });
}
