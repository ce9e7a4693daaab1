import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Fifo } from "../../lib/fifo.js";

describe("Fifo", () => {
  it("gives back what was pushed, in order, across compactions, like an array's push and shift", () => {
    // Batches big enough to cross the compaction threshold (1,024 taken) several times.
    const op = fc.oneof(
      fc.record({ push: fc.array(fc.integer(), { maxLength: 700 }) }),
      fc.record({ take: fc.integer({ min: 1, max: 900 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        for (const o of ops) {
          if ("push" in o) {
            fifo.push(o.push);
            model.push(...o.push);
          } else {
            for (let i = 0; i < o.take; i++) expect(fifo.shift()).toBe(model.shift());
          }
          expect(fifo.length).toBe(model.length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("is empty when drained, and usable again", () => {
    const fifo = new Fifo<string>();
    expect(fifo.shift()).toBeUndefined();
    fifo.push(["a", "b"]);
    expect([fifo.shift(), fifo.shift(), fifo.shift()]).toEqual(["a", "b", undefined]);
    fifo.push(["c"]);
    expect(fifo.length).toBe(1);
    expect(fifo.shift()).toBe("c");
  });
});
