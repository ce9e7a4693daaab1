import { describe, expect, it } from "vitest";
import { EventCache } from "../../../lib/delivery/event-cache.js";
import type { EventRow } from "../../../lib/store/store.js";

const event = (id: string, chars: number): EventRow => ({
  id,
  type: "video_analysis.succeeded",
  workspaceId: "w",
  taskId: id,
  body: "x".repeat(chars),
  createdAtMs: 0,
});

/** A store that counts its reads and can be told to fail. */
function store(rows: readonly EventRow[]) {
  const reads: string[] = [];
  let failing = false;
  return {
    reads,
    fail: (on: boolean) => {
      failing = on;
    },
    read: async (id: string) => {
      reads.push(id);
      if (failing) throw new Error("store unreachable");
      return rows.find((r) => r.id === id);
    },
  };
}

describe("a delivery run's event cache", () => {
  it("reads each event once however many deliveries ask, and serves what the run wrote without a read", async () => {
    const s = store([event("evt_a", 10)]);
    const cache = new EventCache(s.read, 1_000);
    const [one, two] = await Promise.all([cache.get("evt_a"), cache.get("evt_a")]);
    expect(one?.id).toBe("evt_a");
    expect(two).toBe(one);
    cache.remember(event("evt_new", 10));
    expect((await cache.get("evt_new"))?.id).toBe("evt_new");
    expect(s.reads).toEqual(["evt_a"]);
    expect(cache.heldChars).toBe(20);
  });

  it("holds bodies up to its budget, dropping the least recently used, which a later delivery reads again", async () => {
    const rows = ["evt_1", "evt_2", "evt_3"].map((id) => event(id, 400));
    const s = store(rows);
    const cache = new EventCache(s.read, 1_000);
    await cache.get("evt_1");
    await cache.get("evt_2");
    await cache.get("evt_1"); // evt_2 is now the least recently used
    await cache.get("evt_3");
    expect(cache.heldChars).toBe(800);
    expect(s.reads).toEqual(["evt_1", "evt_2", "evt_3"]);
    await cache.get("evt_1");
    expect(s.reads).toHaveLength(3);
    expect((await cache.get("evt_2"))?.id).toBe("evt_2");
    expect(s.reads).toEqual(["evt_1", "evt_2", "evt_3", "evt_2"]);
    expect(cache.heldChars).toBeLessThanOrEqual(1_000);
  });

  it("serves one body larger than the whole budget, then lets it go for the next", async () => {
    const s = store([event("evt_big", 5_000), event("evt_small", 10)]);
    const cache = new EventCache(s.read, 1_000);
    expect((await cache.get("evt_big"))?.body).toHaveLength(5_000);
    await cache.get("evt_small");
    expect(cache.heldChars).toBe(10);
  });

  it("keeps no failed read: the next delivery of the event asks the store again", async () => {
    const s = store([event("evt_a", 10)]);
    const cache = new EventCache(s.read, 1_000);
    s.fail(true);
    await expect(cache.get("evt_a")).rejects.toThrow(/unreachable/);
    s.fail(false);
    expect((await cache.get("evt_a"))?.id).toBe("evt_a");
    expect(s.reads).toEqual(["evt_a", "evt_a"]);
  });
});
