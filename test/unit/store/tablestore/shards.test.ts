import { describe, expect, it } from "vitest";
import { LeasesSeen } from "../../../../lib/store/tablestore/leases-seen.js";
import { DueShards } from "../../../../lib/store/tablestore/shards.js";

function settings(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial));
  let reads = 0;
  return {
    values,
    reads: () => reads,
    async get(key: string) {
      reads++;
      return values.get(key);
    },
    async compareAndSet(key: string, expected: string | undefined, value: string) {
      if (values.get(key) !== expected) return false;
      values.set(key, value);
      return true;
    },
  };
}

describe("due shards", () => {
  it("spreads entries evenly, by their key alone", () => {
    const shards = new DueShards(8, settings());
    const counts = new Map<string, number>();
    for (let i = 0; i < 8_000; i++) {
      const shard = shards.of(`msg_${i.toString(16).padStart(32, "0")}`);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
    expect(shards.of("same")).toBe(shards.of("same"));
    expect(new DueShards(1, settings()).of("anything")).toBe("0");
  });

  it("each claim starts at the next shard of this process's round, and visits them all", async () => {
    const shards = new DueShards(4, settings(), () => 0.5);
    expect(await shards.round()).toEqual(["2", "3", "0", "1"]);
    expect(await shards.round()).toEqual(["3", "0", "1", "2"]);
    expect(await shards.round()).toEqual(["0", "1", "2", "3"]);
  });

  it("records the highest count ever used, and reads that many after the count is lowered", async () => {
    const store = settings();
    expect(await new DueShards(8, store).round()).toHaveLength(8);
    expect(store.values.get("due_shards")).toBe("8");
    const lowered = new DueShards(2, store);
    expect(await lowered.round()).toHaveLength(8); // entries in shards 2–7 are still read
    expect(lowered.of("x")).toMatch(/^[01]$/); // new ones go to the two
    await lowered.round();
    expect(store.reads()).toBe(2); // once per process
    // A store from before shards: one shard, which the first raise records.
    expect(await new DueShards(1, settings()).round()).toEqual(["0"]);
  });

  it("with several shards, a claim starts at a random point of its window; with one, in order", () => {
    const window = ["a", "b", "c", "d"];
    expect(new DueShards(4, settings(), () => 0.5).rotate(window, 4)).toEqual(["c", "d", "a", "b"]);
    expect(new DueShards(1, settings(), () => 0.5).rotate(window, 1)).toEqual(window);
  });

  it("refuses a count out of range, saying what is allowed", () => {
    expect(() => new DueShards(0, settings())).toThrow(/from 1 to 64/);
    expect(() => new DueShards(65, settings())).toThrow(/from 1 to 64/);
  });
});

describe("leases seen", () => {
  it("passes over an entry until its lease ends, and forgets the oldest beyond its capacity", () => {
    const seen = new LeasesSeen(2);
    seen.hold("a", 1_000);
    expect(seen.held("a", 999)).toBe(true);
    expect(seen.held("a", 1_000)).toBe(false);
    seen.hold("b", 5_000);
    seen.hold("c", 5_000);
    seen.hold("d", 5_000);
    expect(seen.held("b", 0)).toBe(false);
    expect(seen.held("d", 0)).toBe(true);
    seen.release("d");
    expect(seen.held("d", 0)).toBe(false);
  });

  it("a claim's window passes the leases still running, and no more than 2,000 entries", () => {
    const seen = new LeasesSeen();
    seen.hold("running", 2_000);
    seen.hold("ended", 500);
    expect(seen.window(10, 1_000)).toBe(81);
    for (let i = 0; i < 5_000; i++) seen.hold(`k${i}`, 10_000);
    expect(seen.window(10, 1_000)).toBe(2_000);
  });
});
