import { describe, expect, it } from "vitest";
import { EndpointMemory } from "../../../lib/delivery/endpoint-memory.js";
import { EndpointQueues } from "../../../lib/delivery/endpoint-queues.js";
import { FakeClock } from "../../support/fake-clock.js";

describe("EndpointMemory", () => {
  it("keeps what was learned for its time, then forgets it", () => {
    const clock = new FakeClock(1_000_000);
    const memory = new EndpointMemory(clock, { ttlMs: 60_000 });
    memory.set("a", { limit: 3, strikes: 4 });
    clock.advance(59_999);
    expect(memory.get("a")).toEqual({ limit: 3, strikes: 4 });
    clock.advance(1);
    expect(memory.get("a")).toBeUndefined();
  });

  it("keeps at most its size, forgetting what was learned longest ago", () => {
    const clock = new FakeClock(0);
    const memory = new EndpointMemory(clock, { maxSize: 2 });
    memory.set("a", { limit: 1, strikes: 0 });
    memory.set("b", { limit: 2, strikes: 0 });
    memory.set("a", { limit: 4, strikes: 0 }); // learned again: now the newest
    memory.set("c", { limit: 3, strikes: 4 });
    expect([memory.get("a"), memory.get("b"), memory.get("c")]).toEqual([
      { limit: 4, strikes: 0 },
      undefined,
      { limit: 3, strikes: 4 },
    ]);
  });

  it("rows given back untried teach nothing: a hanging host stays struggling, and untried newcomers stay new", () => {
    const memory = new EndpointMemory(new FakeClock(0));
    type HostRow = { endpoint: string; host: string };
    const limits = { limit: 4, startLimit: 2, memory, groupOf: (r: HostRow) => r.host };
    const pass = new EndpointQueues<HostRow>(limits, (r) => r.endpoint);
    pass.push({ endpoint: "hang/1", host: "hang" });
    pass.take(0);
    pass.markSlow("hang/1");
    // A burst of new URLs on the host, more than the pass has time for: given back untried.
    for (let i = 2; i < 6; i++) pass.push({ endpoint: `hang/${i}`, host: "hang" });
    pass.push({ endpoint: "fresh", host: "other" });
    pass.drain();
    expect(memory.get("hang")).toEqual({ limit: 2, strikes: 4 });
    expect([memory.get("hang/2"), memory.get("fresh"), memory.get("other")]).toEqual([undefined, undefined, undefined]);
    // So the next pass still meets the host's new URLs as suspects: one slot each, struggling.
    const next = new EndpointQueues<HostRow>({ ...limits, strugglingShare: 1 }, (r) => r.endpoint);
    next.push({ endpoint: "hang/2", host: "hang" });
    next.push({ endpoint: "hang/2", host: "hang" });
    next.push({ endpoint: "hang/6", host: "hang" });
    expect([next.take(0)?.key, next.take(0)]).toEqual(["hang/2", undefined]);
  });

  it("lets the next pass's queues start an endpoint where the last pass left it", () => {
    const memory = new EndpointMemory(new FakeClock(0));
    const limits = { limit: 4, startLimit: 2, strugglingShare: 1, memory };
    const first = new EndpointQueues<{ endpoint: string }>(limits, (r) => r.endpoint);
    first.push({ endpoint: "slow" });
    first.take(0);
    first.markSlow("slow");
    first.done("slow");
    // The next pass: "slow" starts struggling, so with one request in flight the share is full.
    const next = new EndpointQueues<{ endpoint: string }>(limits, (r) => r.endpoint);
    for (let i = 0; i < 3; i++) next.push({ endpoint: "slow" });
    expect([next.take(0)?.key, next.take(0)?.key]).toEqual(["slow", undefined]);
    // A pass beside it learns what it learns at once, not when the endpoint goes idle there.
    const beside = new EndpointQueues<{ endpoint: string }>(limits, (r) => r.endpoint);
    beside.push({ endpoint: "other" });
    beside.take(0);
    beside.markSlow("other");
    expect(memory.get("other")).toEqual({ limit: 2, strikes: 4 });
    // Rows left waiting when a pass ends are given back, and what was learned of them is kept.
    next.answered("slow");
    next.drain();
    expect(memory.get("slow")).toEqual({ limit: 3, strikes: 2 });
  });
});
