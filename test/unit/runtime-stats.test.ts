import { describe, expect, it } from "vitest";
import { ManualClock } from "../../dev/manual-clock.js";
import {
  RUNTIMES_ALL_KEY,
  RUNTIMES_KEY_PREFIX,
  RUNTIMES_V1_KEY_PREFIX,
  RunTimeStats,
  readRelayRunTimes,
  readRunTimes,
} from "../../lib/runtime-stats.js";
import { ALL_PROFILES } from "../../lib/runtimes.js";
import type { Store } from "../../lib/store/store.js";

/** The settings part of a store, in memory, with compare-and-set like the real ones. */
function settingsStore() {
  const values = new Map<string, string>();
  let casCalls = 0;
  const store = {
    async getSetting(key: string) {
      return values.get(key);
    },
    async compareAndSetSetting(key: string, expected: string | undefined, value: string) {
      casCalls++;
      if (values.get(key) !== expected) return false;
      values.set(key, value);
      return true;
    },
  } as unknown as Store;
  return { store, values, cas: () => casCalls };
}

describe("a run's learned run times", () => {
  it("reads once, learns at once, saves on flush in one compare-and-set per workspace and one for the relay", async () => {
    const { store, cas } = settingsStore();
    const clock = new ManualClock();
    const stats = new RunTimeStats({ store, clock });
    stats.record("w", "full", 60_000);
    stats.record("w", undefined, 90_000);
    expect((await stats.models("w"))[ALL_PROFILES]?.samples).toBe(2);
    expect(await readRunTimes(store, "w")).toEqual({});
    stats.record("v", undefined, 30_000);
    await stats.flush();
    expect(cas()).toBe(3);
    const saved = await readRunTimes(store, "w");
    expect(saved[ALL_PROFILES]?.samples).toBe(2);
    expect(saved.full?.samples).toBe(1);
    // Every workspace's ends together.
    expect((await readRelayRunTimes(store))[ALL_PROFILES]?.samples).toBe(3);
    expect((await stats.relayModels())[ALL_PROFILES]?.samples).toBe(3);
    await stats.flush(); // nothing new: nothing written
    expect(cas()).toBe(3);
  });

  it("two overlapping runs both keep what they learned (a conflict re-reads and re-applies)", async () => {
    const { store, values } = settingsStore();
    const clock = new ManualClock();
    const a = new RunTimeStats({ store, clock });
    const b = new RunTimeStats({ store, clock });
    await a.models("w");
    await b.models("w");
    a.record("w", undefined, 60_000);
    b.record("w", undefined, 70_000);
    b.record("w", undefined, 80_000);
    await Promise.all([a.flush(), b.flush()]);
    expect((await readRunTimes(store, "w"))[ALL_PROFILES]?.samples).toBe(3);
    expect([...values.keys()].sort()).toEqual([RUNTIMES_ALL_KEY, `${RUNTIMES_KEY_PREFIX}w`]);
    expect((await readRelayRunTimes(store))[ALL_PROFILES]?.samples).toBe(3);
  });

  it("a store that fails is no model and keeps the samples for the next flush", async () => {
    const { store } = settingsStore();
    let failing = true;
    const flaky = {
      getSetting: (key: string) => (failing ? Promise.reject(new Error("store down")) : store.getSetting(key)),
      compareAndSetSetting: store.compareAndSetSetting,
    } as unknown as Store;
    const logged: Array<Record<string, unknown>> = [];
    const stats = new RunTimeStats({ store: flaky, clock: new ManualClock() });
    expect(await stats.models("w")).toEqual({});
    stats.record("w", undefined, 60_000);
    await stats.flush((entry) => logged.push(entry));
    expect(logged[0]).toMatchObject({ level: "warn", msg: "could not save learned run times", key: "runtimes2:w" });
    failing = false;
    await stats.flush();
    expect((await readRunTimes(store, "w"))[ALL_PROFILES]?.samples).toBe(1);
  });

  it("starts from a workspace's version-1 document, writes version 2 beside it, and leaves the old one to older relays", async () => {
    const { store, values } = settingsStore();
    const v1 = '{"v":1,"models":{"*":{"samples":30,"bins":{"40":30}}}}';
    values.set(`${RUNTIMES_V1_KEY_PREFIX}w`, v1);
    const stats = new RunTimeStats({ store, clock: new ManualClock() });
    expect((await stats.models("w"))[ALL_PROFILES]?.samples).toBe(30);
    stats.record("w", undefined, 60_000);
    await stats.flush();
    expect(values.get(`${RUNTIMES_V1_KEY_PREFIX}w`)).toBe(v1);
    expect((await readRunTimes(store, "w"))[ALL_PROFILES]?.samples).toBe(31);
  });

  it("never overwrites a document it cannot read (a newer version's)", async () => {
    const { store, values } = settingsStore();
    const newer = '{"v":3,"models":{"*":{"samples":500}}}';
    values.set(`${RUNTIMES_KEY_PREFIX}w`, newer);
    const logged: Array<Record<string, unknown>> = [];
    const stats = new RunTimeStats({ store, clock: new ManualClock() });
    stats.record("w", undefined, 60_000);
    await stats.flush((entry) => logged.push(entry));
    expect(values.get(`${RUNTIMES_KEY_PREFIX}w`)).toBe(newer);
    expect(logged).toContainEqual(expect.objectContaining({ level: "warn", key: `${RUNTIMES_KEY_PREFIX}w` }));
  });
});
