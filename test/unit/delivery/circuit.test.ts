import { describe, expect, it, onTestFinished } from "vitest";
import {
  CIRCUIT_CACHE_MS,
  CircuitBreakers,
  type CircuitConfig,
  circuitView,
  parseCircuit,
  readCircuit,
  transitions,
} from "../../../lib/delivery/circuit.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { FakeClock } from "../../support/fake-clock.js";

const config: CircuitConfig = { failures: 3, cooldownMs: 30_000, cooldownMaxMs: 120_000 };

function shared() {
  const store = new SqliteStore(":memory:");
  onTestFinished(() => store.close());
  const clock = new FakeClock();
  // Two runners (two processes' runs) on one store.
  const a = new CircuitBreakers({ store, clock }, config, 5_000);
  const b = new CircuitBreakers({ store, clock }, config, 5_000);
  return { store, clock, a, b };
}

describe("circuit transitions", () => {
  it("a trip (an auth refusal) opens at once; tripping an open probe doubles its cool-down", () => {
    const s = transitions.tripped(parseCircuit(undefined), 1_000, config);
    expect(s).toMatchObject({ failures: 3, openUntilMs: 31_000, cooldownMs: 30_000, openedAtMs: 1_000 });
    const again = transitions.tripped(transitions.probe(s, 40_000, 5_000), 40_000, config);
    expect(again).toMatchObject({ openUntilMs: 100_000, cooldownMs: 60_000, openedAtMs: 1_000 });
  });

  it("trip() opens the stored circuit for every runner; a straggler's trip while open changes nothing", async () => {
    const { clock, a, b } = shared();
    expect((await a.trip("e", false)).changed).toBe(true);
    expect(await b.gate("e")).toEqual({ go: false, untilMs: clock.now() + 30_000 });
    expect((await a.trip("e", false)).changed).toBe(false);
  });

  it("opens at the threshold and doubles each failed probe's cool-down up to the maximum", () => {
    let s = parseCircuit(undefined);
    for (let i = 0; i < 2; i++) s = transitions.failed(s, 0, config);
    expect(s.openUntilMs).toBeUndefined();
    s = transitions.failed(s, 1_000, config);
    expect(s).toMatchObject({ failures: 3, openUntilMs: 31_000, cooldownMs: 30_000, openedAtMs: 1_000 });
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      s = transitions.failed(transitions.probe(s, 100_000, 5_000), 100_000, config);
      cooldowns.push(s.cooldownMs ?? 0);
    }
    expect(cooldowns).toEqual([60_000, 120_000, 120_000, 120_000]);
    expect(s.openedAtMs).toBe(1_000);
    expect(transitions.answered()).toEqual({ failures: 0 });
  });

  it("a straggler's failure does not extend an open circuit", () => {
    const open = transitions.failed({ failures: 2 }, 0, config);
    expect(transitions.failed(open, 5_000, config)).toBe(open);
  });

  it("reads a damaged setting as closed", () => {
    expect(parseCircuit("{not json")).toEqual({ failures: 0 });
    expect(circuitView(parseCircuit('{"failures":"x","openUntilMs":null}'))).toMatchObject({
      state: "closed",
      consecutiveFailures: 0,
    });
  });
});

describe("CircuitBreakers on a shared store", () => {
  it("opens after N timeouts, defers until the cool-down ends, then lets exactly one runner probe", async () => {
    const { store, clock, a, b } = shared();
    for (let i = 0; i < 3; i++) await a.record("wh_1", "timeout", false);
    expect(circuitView(await readCircuit(store, "wh_1"))).toMatchObject({ state: "open", consecutiveFailures: 3 });
    expect(await b.gate("wh_1")).toEqual({ go: false, untilMs: clock.now() + 30_000 });
    // Another endpoint is untouched.
    expect(await b.gate("wh_2")).toEqual({ go: true, probe: false });

    clock.advance(30_000);
    const gates = await Promise.all([a.gate("wh_1"), b.gate("wh_1"), a.gate("wh_1"), b.gate("wh_1")]);
    expect(gates.filter((g) => g.go)).toEqual([{ go: true, probe: true }]);
    expect((await readCircuit(store, "wh_1")).probing).toBe(true);

    // The probe fails: open again, for twice as long.
    const after = await a.record("wh_1", "connection", true);
    expect(after.state).toMatchObject({ cooldownMs: 60_000, openUntilMs: clock.now() + 60_000 });
    clock.advance(60_000);
    expect(await b.gate("wh_1")).toEqual({ go: true, probe: true });
    // The probe is answered (any HTTP status): closed for everyone.
    await b.record("wh_1", undefined, true);
    clock.advance(CIRCUIT_CACHE_MS);
    expect(await a.gate("wh_1")).toEqual({ go: true, probe: false });
    expect(await readCircuit(store, "wh_1")).toEqual({ failures: 0 });
  });

  it("an HTTP answer ends a streak; failures that are not about reaching the endpoint do not count", async () => {
    const { store, a } = shared();
    await a.record("wh_1", "timeout", false);
    await a.record("wh_1", "timeout", false);
    await a.record("wh_1", undefined, false);
    await a.record("wh_1", "timeout", false);
    await a.record("wh_1", "other", false);
    await a.record("wh_1", "refused_target", false);
    expect(await readCircuit(store, "wh_1")).toMatchObject({ failures: 1, openUntilMs: undefined });
  });

  it("a runner that dies mid-probe holds the circuit only for the probe window", async () => {
    const { clock, a, b } = shared();
    for (let i = 0; i < 3; i++) await a.record("wh_1", "timeout", false);
    clock.advance(30_000);
    expect(await a.gate("wh_1")).toEqual({ go: true, probe: true });
    // a never reports back.
    clock.advance(5_000);
    expect(await b.gate("wh_1")).toEqual({ go: true, probe: true });
  });
});
