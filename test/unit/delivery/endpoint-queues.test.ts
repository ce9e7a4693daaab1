import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EndpointQueues } from "../../../lib/delivery/endpoint-queues.js";

type Row = { endpoint: string; n: number };
const queues = (limit: number) => new EndpointQueues<Row>(limit, (r) => r.endpoint);

describe("EndpointQueues", () => {
  it("skips an endpoint at its limit and takes the next endpoint's row instead", () => {
    const q = queues(2);
    for (let n = 0; n < 5; n++) q.push({ endpoint: "stuck", n });
    q.push({ endpoint: "healthy", n: 5 });
    const taken = [q.take(0), q.take(0), q.take(0), q.take(0)].map((t) => t && `${t.key}:${t.row.n}`);
    // Endpoints alternate; once "stuck" has two in flight only "healthy" is taken; then nothing.
    expect(taken).toEqual(["stuck:0", "healthy:5", "stuck:1", undefined]);
    expect(q.size).toBe(3);
    expect(q.takeable(0)).toBe(0);
    q.done("stuck");
    expect(q.takeable(0)).toBe(1);
    expect(q.take(0)?.row.n).toBe(2);
  });

  it("a paused endpoint is passed over until its time, and says when that is", () => {
    const q = queues(4);
    q.push({ endpoint: "limited", n: 0 });
    q.push({ endpoint: "limited", n: 1 });
    q.push({ endpoint: "free", n: 2 });
    q.pause("limited", 1_000);
    expect(q.take(0)?.row.n).toBe(2);
    expect(q.take(0)).toBeUndefined();
    expect(q.nextUnpauseMs(0)).toBe(1_000);
    expect(q.take(1_000)?.row.n).toBe(0);
  });

  it("a row put back goes first in its queue and frees its slot", () => {
    const q = queues(1);
    q.push({ endpoint: "a", n: 0 });
    q.push({ endpoint: "a", n: 1 });
    const first = q.take(0);
    expect(q.take(0)).toBeUndefined();
    q.putBack("a", first?.row as Row);
    expect(q.take(0)?.row.n).toBe(0);
  });

  it("never has more than `limit` of one endpoint in flight, takes every row once, and drains what is left", () => {
    const op = fc.oneof(
      fc.record({ push: fc.constantFrom("a", "b", "c") }),
      fc.record({ take: fc.constant(true) }),
      fc.record({ done: fc.constantFrom("a", "b", "c") }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 200 }), (limit, ops) => {
        const q = queues(limit);
        const inFlight = new Map<string, number>();
        const seen = new Set<number>();
        let pushed = 0;
        for (const o of ops) {
          if ("push" in o) q.push({ endpoint: o.push, n: pushed++ });
          else if ("take" in o) {
            const t = q.take(0);
            if (!t) {
              // Nothing takeable means every endpoint with rows is at its limit.
              expect(q.takeable(0)).toBe(0);
              continue;
            }
            expect(seen.has(t.row.n)).toBe(false);
            seen.add(t.row.n);
            inFlight.set(t.key, (inFlight.get(t.key) ?? 0) + 1);
            expect(inFlight.get(t.key)).toBeLessThanOrEqual(limit);
          } else if ((inFlight.get(o.done) ?? 0) > 0) {
            inFlight.set(o.done, (inFlight.get(o.done) ?? 0) - 1);
            q.done(o.done);
          }
        }
        const rest = q.drain().map((r) => r.n);
        expect(q.size).toBe(0);
        expect(new Set([...seen, ...rest]).size).toBe(pushed);
      }),
      { numRuns: 300 },
    );
  });
});
