import { describe, expect, it } from "vitest";
import { EndpointQueues } from "../../../lib/delivery/endpoint-queues.js";
import { InFlight } from "../../../lib/delivery/in-flight.js";

type Row = { endpoint: string; n: number };

describe("InFlight shared by passes", () => {
  it("an endpoint's window bounds every pass's requests together; a slot freed in one wakes the other", () => {
    const inFlight = new InFlight();
    let woken = 0;
    const finishing = new EndpointQueues<Row>({ limit: 2, inFlight }, (r) => r.endpoint);
    const next = new EndpointQueues<Row>({ limit: 2, inFlight, onFreed: () => woken++ }, (r) => r.endpoint);
    finishing.push({ endpoint: "a", n: 0 });
    finishing.push({ endpoint: "a", n: 1 });
    expect([finishing.take(0)?.row.n, finishing.take(0)?.row.n]).toEqual([0, 1]);
    for (let n = 2; n < 5; n++) next.push({ endpoint: "a", n });
    next.push({ endpoint: "b", n: 9 });
    // "a" has its two in flight from the finishing pass: the next one takes only "b".
    expect(next.takeable(0)).toBe(1);
    expect([next.take(0)?.key, next.take(0)]).toEqual(["b", undefined]);
    finishing.done("a");
    expect(woken).toBe(1);
    expect(next.take(0)?.row.n).toBe(2);
    expect(next.take(0)).toBeUndefined();
    // A pass that is over hears nothing more, nor does the one that freed the slot.
    next.close();
    finishing.done("a");
    expect(woken).toBe(1);
    expect(inFlight.of("a")).toBe(1);
    next.done("a");
    expect(inFlight.of("a")).toBe(0);
  });
});
