import { describe, expect, it, onTestFinished } from "vitest";
import { RateLimits, rateKey } from "../../../lib/delivery/rate.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { FakeClock } from "../../support/fake-clock.js";

function shared() {
  const store = new SqliteStore(":memory:");
  onTestFinished(() => store.close());
  const clock = new FakeClock();
  return { store, clock, a: new RateLimits({ store, clock }), b: new RateLimits({ store, clock }) };
}

describe("RateLimits", () => {
  it("spaces requests 1/rate apart across runners sharing a store, and takes no slot it cannot use", async () => {
    const { clock, a, b } = shared();
    const t0 = clock.now();
    const slots: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await (i % 2 ? a : b).reserve("wh_1", 4, t0 + 10_000);
      if (!("atMs" in r)) throw new Error("expected a slot");
      slots.push(r.atMs - t0);
    }
    expect(slots).toEqual([0, 250, 500, 750, 1000, 1250]);
    // The next slot is at +1500: asked with a deadline before it, nothing is taken.
    expect(await a.reserve("wh_1", 4, t0 + 1_000)).toEqual({ notBeforeMs: t0 + 1_500 });
    expect(await b.reserve("wh_1", 4, t0 + 10_000)).toEqual({ atMs: t0 + 1_500 });
    // Other endpoints have their own clock.
    expect(await b.reserve("wh_2", 4, t0)).toEqual({ atMs: t0 });
  });

  it("holds a webhook stored with a rate below the minimum (5e-324) to the minimum: its interval no longer overflows to no limit", async () => {
    const { clock, a } = shared();
    const t0 = clock.now();
    expect(await a.reserve("wh_tiny", 5e-324, t0 + 60_000)).toEqual({ atMs: t0 });
    expect(await a.reserve("wh_tiny", 5e-324, t0 + 60_000)).toEqual({ notBeforeMs: t0 + 10_000_000 });
  });

  it("concurrent reservations never share a slot", async () => {
    const { clock, a, b } = shared();
    const t0 = clock.now();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).reserve("wh_1", 10, t0 + 60_000)),
    );
    // A reservation that lost too many races in a row gives up for now (and takes nothing).
    const slots = results.flatMap((r) => ("atMs" in r ? [r.atMs - t0] : [])).sort((x, y) => x - y);
    expect(slots.length).toBeGreaterThan(1);
    expect(new Set(slots).size).toBe(slots.length);
    for (let i = 1; i < slots.length; i++) expect((slots[i] ?? 0) - (slots[i - 1] ?? 0)).toBeGreaterThanOrEqual(100);
  });

  it("starts again from now after a clock step or a damaged value", async () => {
    const { store, clock, a } = shared();
    await store.compareAndSetSetting(rateKey("wh_1"), undefined, String(clock.now() + 86_400_000));
    expect(await a.reserve("wh_1", 1, clock.now())).toEqual({ atMs: clock.now() });
    await store.compareAndSetSetting(rateKey("wh_2"), undefined, "garbage");
    expect(await a.reserve("wh_2", 1, clock.now())).toEqual({ atMs: clock.now() });
  });
});
