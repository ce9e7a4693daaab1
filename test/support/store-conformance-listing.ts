/**
 * The Store contract's lists: newest first by (creation time, key), with cursors that page through
 * the whole list, each row once, even while rows are added between pages.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DeliveryFilter, DeliveryRow, NewDelivery, Page, Store, TaskRow } from "../../lib/store/store.js";
import { T0 } from "./store-conformance-events.js";

const delivery = (id: string, atMs: number, more: Partial<NewDelivery> = {}): NewDelivery => ({
  id,
  eventId: `evt_${id}`,
  webhookId: "wh_a",
  url: "https://a.example/hook",
  nextAttemptAtMs: atMs,
  createdAtMs: atMs,
  eventType: "video_analysis.succeeded",
  ...more,
});

const event = (id: string, atMs: number) => ({
  id,
  type: "video_analysis.succeeded",
  workspaceId: "w",
  taskId: id,
  body: "{}",
  createdAtMs: atMs,
});

/** Every page of a list, followed from the first. */
async function everyPage<T>(list: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    all.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return all;
}

const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id);

/** Three kinds of list, one shape: what the property below pages through. */
type Kind = "deliveries" | "tasks" | "events";

async function add(store: Store, kind: Kind, key: string, atMs: number): Promise<void> {
  if (kind === "deliveries") await store.createDeliveries([delivery(`msg_${key}`, atMs)]);
  else if (kind === "tasks") await store.registerTask({ workspaceId: "w", taskId: key }, atMs);
  else await store.createEvent(event(`evt_${key}`, atMs));
}

async function listPage(store: Store, kind: Kind, limit: number, cursor: string | undefined) {
  const paging = { limit, ...(cursor ? { cursor } : {}) };
  if (kind === "deliveries") {
    const page = await store.listDeliveries(paging);
    return { keys: page.items.map((d) => [d.createdAtMs, d.id] as const), cursor: page.cursor };
  }
  if (kind === "tasks") {
    const page = await store.listTasks(paging);
    return { keys: page.items.map((t) => [t.registeredAtMs, `w/${t.taskId}`] as const), cursor: page.cursor };
  }
  const page = await store.listRecentEvents(paging);
  return { keys: page.items.map((e) => [e.createdAtMs, e.id] as const), cursor: page.cursor };
}

const label = (kind: Kind, key: string) =>
  kind === "deliveries" ? `msg_${key}` : kind === "tasks" ? `w/${key}` : `evt_${key}`;

export function listingConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store contract, lists: ${name}`, () => {
    it("lists deliveries newest first, by each filter, page by page", async () => {
      const store = await open();
      await store.createDeliveries([
        delivery("msg_1", T0),
        delivery("msg_3", T0 + 2, { webhookId: "wh_b" }),
        delivery("msg_2b", T0 + 1, { eventType: "video_analysis.failed" }),
        delivery("msg_2a", T0 + 1, { eventId: "evt_msg_1" }),
        delivery("msg_4", T0 + 3),
      ]);
      const list = (filter: Omit<DeliveryFilter, "limit">) =>
        everyPage((cursor) => store.listDeliveries({ ...filter, limit: 2, ...(cursor ? { cursor } : {}) }));
      // Newest first; two in the same millisecond by id, the greater first.
      expect(ids(await list({}))).toEqual(["msg_4", "msg_3", "msg_2b", "msg_2a", "msg_1"]);
      expect(ids(await list({ webhookId: "wh_a" }))).toEqual(["msg_4", "msg_2b", "msg_2a", "msg_1"]);
      expect(ids(await list({ eventId: "evt_msg_1" }))).toEqual(["msg_2a", "msg_1"]);
      expect(ids(await list({ eventType: "video_analysis.failed" }))).toEqual(["msg_2b"]);
      expect(ids(await list({ sinceMs: T0 + 1 }))).toEqual(["msg_4", "msg_3", "msg_2b", "msg_2a"]);
      expect(ids(await list({ status: "delivered" }))).toEqual([]);
      expect(ids(await list({ status: "pending", webhookId: "wh_a", sinceMs: T0 + 1 }))).toEqual([
        "msg_4",
        "msg_2b",
        "msg_2a",
      ]);
      await expect(store.listDeliveries({ limit: 2, cursor: "garbage" })).rejects.toThrow(/cursor/);
    });

    it("lists the failed, newest first: the dead and the retrying after a failed attempt", async () => {
      const store = await open();
      await store.createDeliveries(["msg_ok", "msg_retry", "msg_dead", "msg_new"].map((id, i) => delivery(id, T0 + i)));
      const claimed = await store.claimDueDeliveries({ owner: "o", nowMs: T0 + 2, leaseMs: 1_000, limit: 10 });
      const byId = new Map(claimed.map((d) => [d.id, d]));
      const attempt = (id: string, status: DeliveryRow["status"], code: number) =>
        store.updateDelivery(byId.get(id) as DeliveryRow, "o", {
          status,
          attempts: 1,
          nextAttemptAtMs: T0 + 60_000,
          lastAttemptAtMs: T0 + 3,
          lastStatusCode: code,
          lastError: code === 200 ? undefined : `HTTP ${code}`,
          lastResponse: undefined,
          ...(status === "delivered" ? { deliveredAtMs: T0 + 3 } : {}),
        });
      expect(await attempt("msg_ok", "delivered", 200)).toBe(true);
      expect(await attempt("msg_retry", "pending", 500)).toBe(true);
      expect(await attempt("msg_dead", "dead", 410)).toBe(true);
      const failed = async () => ids((await store.listDeliveries({ status: "failed", limit: 10 })).items);
      expect(await failed()).toEqual(["msg_dead", "msg_retry"]);
      expect(ids((await store.listDeliveries({ status: "dead", limit: 10 })).items)).toEqual(["msg_dead"]);
      expect(ids((await store.listDeliveries({ status: "pending", limit: 10 })).items)).toEqual([
        "msg_new",
        "msg_retry",
      ]);
      // A retry that succeeds leaves the failed.
      const [again] = await store.claimDueDeliveries({
        owner: "p",
        nowMs: T0 + 60_000,
        leaseMs: 1,
        limit: 1,
        ids: ["msg_retry"],
      });
      expect(again?.id).toBe("msg_retry");
      await store.updateDelivery(again as DeliveryRow, "p", {
        status: "delivered",
        attempts: 2,
        nextAttemptAtMs: T0 + 60_000,
        lastAttemptAtMs: T0 + 60_000,
        lastStatusCode: 200,
        lastError: undefined,
        lastResponse: undefined,
        deliveredAtMs: T0 + 60_000,
      });
      expect(await failed()).toEqual(["msg_dead"]);
    });

    it("lists tasks newest registration first, with their filters", async () => {
      const store = await open();
      // t4 is due first, to be claimed and ended below.
      for (const [ws, id, at] of [
        ["w", "t1", T0],
        ["v", "t2", T0 + 1],
        ["w", "t3", T0 + 1],
        ["w", "t4", T0 + 2],
      ] as const)
        await store.registerTask({ workspaceId: ws, taskId: id, firstPollAtMs: id === "t4" ? T0 - 1 : at }, at);
      // A repeat keeps the first registration's place.
      await store.registerTask({ workspaceId: "w", taskId: "t1" }, T0 + 9);
      const [t4] = await store.claimDueTasks({ owner: "o", nowMs: T0 + 2, leaseMs: 1_000, limit: 1 });
      expect(t4?.taskId).toBe("t4");
      await store.updateTask(t4 as TaskRow, "o", {
        state: "done",
        status: "SUCCESSED",
        nextPollAtMs: T0,
        pollCount: 1,
        pollsInStatus: 0,
      });
      const list = async (filter: { state?: "active" | "done"; status?: string; workspaceId?: string }) =>
        (await everyPage((cursor) => store.listTasks({ ...filter, limit: 1, ...(cursor ? { cursor } : {}) }))).map(
          (t) => t.taskId,
        );
      expect(await list({})).toEqual(["t4", "t3", "t2", "t1"]);
      expect(await list({ workspaceId: "w" })).toEqual(["t4", "t3", "t1"]);
      expect(await list({ state: "active" })).toEqual(["t3", "t2", "t1"]);
      expect(await list({ state: "done" })).toEqual(["t4"]);
      expect(await list({ status: "SUCCESSED" })).toEqual(["t4"]);
    });

    it("lists events newest first too, while listEvents keeps following creation order", async () => {
      const store = await open();
      for (const [id, at] of [
        ["evt_b", T0 + 1],
        ["evt_a", T0],
        ["evt_c", T0 + 1],
      ] as const)
        await store.createEvent(event(id, at));
      const recent = await everyPage((cursor) => store.listRecentEvents({ limit: 2, ...(cursor ? { cursor } : {}) }));
      expect(ids(recent)).toEqual(["evt_c", "evt_b", "evt_a"]);
      expect(ids((await store.listRecentEvents({ limit: 10, sinceMs: T0 + 1 })).items)).toEqual(["evt_c", "evt_b"]);
      expect(ids((await store.listEvents({ limit: 10 })).items)).toEqual(["evt_a", "evt_b", "evt_c"]);
    });

    it("pages each list through every row there was, once, however rows arrive between pages", async () => {
      // Steps: add a row (its time from a small range, so times tie), or read the next page.
      const step = fc.oneof(
        fc.record({ add: fc.integer({ min: 0, max: 5 }) }),
        fc.record({ page: fc.integer({ min: 1, max: 4 }) }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Kind>("deliveries", "tasks", "events"),
          fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 8 }),
          fc.array(step, { maxLength: 20 }),
          async (kind, before, steps) => {
            const store = await open();
            let n = 0;
            const existed: string[] = [];
            for (const at of before) {
              const key = `k${n++}`;
              await add(store, kind, key, T0 + at);
              existed.push(label(kind, key));
            }
            const seen: Array<readonly [number, string]> = [];
            let cursor: string | undefined;
            let done = false;
            const next = async (limit: number) => {
              const page = await listPage(store, kind, limit, cursor);
              seen.push(...page.keys);
              cursor = page.cursor;
              done = cursor === undefined;
            };
            for (const s of steps) {
              if ("add" in s) await add(store, kind, `k${n++}`, T0 + s.add);
              else if (!done) await next(s.page);
            }
            while (!done) await next(3);
            // Strictly newest first, so no row twice; and none of those there at the start missed.
            for (let i = 1; i < seen.length; i++) {
              const [a, b] = [seen[i - 1], seen[i]] as [readonly [number, string], readonly [number, string]];
              expect(a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])).toBe(true);
            }
            const keys = new Set(seen.map((k) => k[1]));
            for (const key of existed) expect(keys.has(key)).toBe(true);
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}
