import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EndpointQueues, SLOW_STRIKES } from "../../../lib/delivery/endpoint-queues.js";

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

  it("takes more of one endpoint's waiting rows for a batch, and puts them back first with the row", () => {
    const q = queues(2);
    for (let n = 0; n < 5; n++) q.push({ endpoint: "bus", n });
    q.push({ endpoint: "other", n: 9 });
    const first = q.take(0);
    const more = q.takeMore("bus", 3);
    expect([first?.row.n, ...more.map((r) => r.n)]).toEqual([0, 1, 2, 3]);
    expect(q.size).toBe(2);
    expect(q.takeMore("nobody", 3)).toEqual([]);
    q.putBack("bus", first?.row as Row, more);
    expect(q.size).toBe(6);
    expect(q.drainEndpoint("bus").map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
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
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 200, size: "large" }), (limit, ops) => {
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

  it("slow start: an endpoint starts with two in flight and earns one more per answer, up to its limit", () => {
    const q = new EndpointQueues<Row>({ limit: 4, startLimit: 2 }, (r) => r.endpoint);
    for (let n = 0; n < 10; n++) q.push({ endpoint: "a", n });
    expect([q.take(0), q.take(0), q.take(0)].map((t) => t?.row.n)).toEqual([0, 1, undefined]);
    q.answered("a");
    q.done("a");
    // Two free slots now (window 3, one in flight).
    expect([q.take(0), q.take(0), q.take(0)].map((t) => t?.row.n)).toEqual([2, 3, undefined]);
    for (let i = 0; i < 5; i++) q.answered("a");
    expect(q.take(0)?.row.n).toBe(4);
    expect(q.take(0)).toBeUndefined(); // capped at 4
  });

  it("an unanswered request halves the window, and what was learned outlives the endpoint's idle spell", () => {
    const q = new EndpointQueues<Row>({ limit: 8, startLimit: 8 }, (r) => r.endpoint);
    for (let n = 0; n < 8; n++) q.push({ endpoint: "a", n });
    for (let n = 0; n < 8; n++) q.take(0);
    q.unanswered("a");
    q.unanswered("a");
    for (let n = 0; n < 8; n++) q.done("a");
    // Idle and forgotten by the queues, but its window (8 → 4 → 2) is remembered.
    for (let n = 8; n < 12; n++) q.push({ endpoint: "a", n });
    expect([q.take(0), q.take(0), q.take(0)].map((t) => t?.row.n)).toEqual([8, 9, undefined]);
  });

  it("failing endpoints together hold at most their share of workers; the others take the rest", () => {
    const q = new EndpointQueues<Row>({ limit: 4, startLimit: 4, strugglingShare: 2 }, (r) => r.endpoint);
    let n = 0;
    for (const endpoint of ["x", "y", "z", "ok"]) for (let i = 0; i < 4; i++) q.push({ endpoint, n: n++ });
    for (const failing of ["x", "y", "z"]) q.knownFailing(failing);
    const taken = Array.from({ length: 8 }, () => q.take(0)?.key).filter((k) => k !== undefined);
    expect(taken.filter((k) => k !== "ok")).toHaveLength(2);
    expect(taken.filter((k) => k === "ok")).toHaveLength(4);
    expect(q.takeable(0)).toBe(0);
    // One of the failing ones answers: it is no longer failing, and frees a share for another.
    q.answered(taken[0] as string);
    expect(q.takeable(0)).toBeGreaterThan(0);
  });

  it("slow answers keep an endpoint's window but hold it to the struggling share, until prompt ones", () => {
    const q = new EndpointQueues<Row>({ limit: 4, startLimit: 2, strugglingShare: 2 }, (r) => r.endpoint);
    let n = 0;
    for (const endpoint of ["slow1", "slow2", "ok"]) for (let i = 0; i < 8; i++) q.push({ endpoint, n: n++ });
    // First contact: nothing known, each takes its first window.
    const first = Array.from({ length: 6 }, () => q.take(0)?.key);
    expect(first.sort()).toEqual(["ok", "ok", "slow1", "slow1", "slow2", "slow2"]);
    for (const key of ["slow1", "slow2"]) {
      q.markSlow(key);
      q.done(key);
    }
    // Two slow endpoints with a request each in flight: at their share, they take no more,
    q.answered("ok");
    q.done("ok");
    const next = Array.from({ length: 4 }, () => q.take(0)?.key).filter((k) => k !== undefined);
    expect(next).toEqual(["ok", "ok"]);
    // and their windows did not shrink: three prompt answers and slow1 is no longer held to the share.
    for (let i = 0; i < 3; i++) q.answered("slow1");
    q.done("slow1");
    const after = Array.from({ length: 6 }, () => q.take(0)?.key);
    expect(after.filter((k) => k === "slow1")).toHaveLength(4);
    expect(after.filter((k) => k === "slow2")).toHaveLength(1);
  });

  it("a receiver that hangs on every other request stays with the struggling ones; three prompt answers in a row free it", () => {
    const q = new EndpointQueues<Row>({ limit: 4, startLimit: 4, strugglingShare: 1 }, (r) => r.endpoint);
    q.push({ endpoint: "flaky", n: 0 });
    q.push({ endpoint: "flaky", n: 1 });
    expect([q.take(0)?.key, q.take(0)?.key]).toEqual(["flaky", "flaky"]);
    // The first hangs past a prompt answer's time; the second is answered at once.
    q.markSlow("flaky");
    q.answered("flaky");
    q.done("flaky");
    q.push({ endpoint: "down", n: 2 });
    q.knownFailing("down");
    // The hanging request still fills the share of one, so "down" waits,
    expect(q.takeable(0)).toBe(0);
    // and again after another slow one and a prompt one, however many times that goes round.
    q.markSlow("flaky");
    q.answered("flaky");
    expect(q.takeable(0)).toBe(0);
    q.answered("flaky");
    expect(q.takeable(0)).toBe(0);
    q.answered("flaky"); // the third prompt answer in a row
    expect(q.take(0)?.key).toBe("down");
  });

  it("a newcomer on a host known to struggle starts struggling with one slot; on a host that answers, as any newcomer", () => {
    type HostRow = Row & { host: string };
    const q = new EndpointQueues<HostRow>(
      { limit: 4, startLimit: 2, strugglingShare: 2, groupOf: (r) => r.host },
      (r) => r.endpoint,
    );
    q.push({ endpoint: "hang/1", host: "hang", n: 0 });
    q.push({ endpoint: "ok/1", host: "ok", n: 1 });
    q.take(0);
    q.take(0);
    q.markSlow("hang/1");
    q.answered("ok/1");
    let n = 2;
    for (const endpoint of ["hang/2", "hang/3", "hang/4"])
      for (let i = 0; i < 2; i++) q.push({ endpoint, host: "hang", n: n++ });
    for (let i = 0; i < 3; i++) q.push({ endpoint: "ok/2", host: "ok", n: n++ });
    const taken = Array.from({ length: 8 }, () => q.take(0)?.key).filter((k) => k !== undefined);
    // hang/1's request still in flight, and one newcomer on its host: the share of two is full.
    expect(taken.filter((k) => k.startsWith("hang/"))).toHaveLength(1);
    // ok/2 is new too, on a host that answers: a newcomer's window of two.
    expect(taken.filter((k) => k === "ok/2")).toHaveLength(2);
    // One prompt answer and the suspect newcomer is an endpoint like any other: out of the share
    // (which makes room for another newcomer), and its window grows.
    const suspect = taken.find((k) => k.startsWith("hang/")) as string;
    q.answered(suspect);
    expect([q.take(0)?.key, q.take(0)?.key]).toContain(suspect);
  });

  it("newcomers and struggling endpoints together hold at most their share; one heard from promptly takes the rest", () => {
    const q = new EndpointQueues<Row>({ limit: 4, startLimit: 2, unprovenShare: 3 }, (r) => r.endpoint);
    q.push({ endpoint: "known", n: 0 });
    q.take(0);
    q.answered("known");
    q.done("known");
    let n = 1;
    for (const endpoint of ["new1", "new2", "new3", "new4"]) q.push({ endpoint, n: n++ });
    for (let i = 0; i < 3; i++) q.push({ endpoint: "known", n: n++ });
    const taken = Array.from({ length: 8 }, () => q.take(0)?.key).filter((k) => k !== undefined);
    expect(taken.filter((k) => k.startsWith("new"))).toHaveLength(3);
    expect(taken.filter((k) => k === "known")).toHaveLength(3);
    // A newcomer that answers promptly is proven: it leaves the share, and the fourth newcomer gets in.
    const first = taken.find((k) => k.startsWith("new")) as string;
    q.answered(first);
    expect(q.take(0)?.key).toBe("new4");
  });

  it("whatever the answers, an endpoint never exceeds its window, nor struggling or unproven ones their shares", () => {
    const endpoint = fc.constantFrom("a", "b", "c");
    const op = fc.oneof(
      { arbitrary: fc.record({ push: endpoint }), weight: 3 },
      { arbitrary: fc.record({ take: fc.constant(true) }), weight: 3 },
      {
        arbitrary: fc.record({ done: endpoint, answer: fc.constantFrom("answered", "slowly", "unanswered", "none") }),
        weight: 2,
      },
      { arbitrary: fc.record({ knownFailing: endpoint }), weight: 2 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(op, { maxLength: 300, size: "large" }),
        (limit, share, unprovenShare, ops) => {
          const q = new EndpointQueues<Row>(
            { limit, startLimit: 1, strugglingShare: share, unprovenShare },
            (r) => r.endpoint,
          );
          // The model: what the queues must know of each endpoint.
          const inFlight = new Map<string, number>();
          const queued = new Map<string, number>();
          const strikes = new Map<string, number>();
          const window = new Map<string, number>();
          const heard = new Set<string>();
          const struggling = (k: string) => (strikes.get(k) ?? 0) > 0;
          const unproven = (k: string) => struggling(k) || !heard.has(k);
          const inFlightOf = (which: (k: string) => boolean) =>
            [...inFlight].reduce((sum, [k, n]) => sum + (which(k) ? n : 0), 0);
          const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
          let pushed = 0;
          for (const o of ops) {
            if ("push" in o) {
              q.push({ endpoint: o.push, n: pushed++ });
              add(queued, o.push, 1);
            } else if ("take" in o) {
              const [strugglingBefore, unprovenBefore] = [inFlightOf(struggling), inFlightOf(unproven)];
              const t = q.take(0);
              if (!t) continue;
              add(inFlight, t.key, 1);
              add(queued, t.key, -1);
              expect(inFlight.get(t.key)).toBeLessThanOrEqual(window.get(t.key) ?? 1);
              if (struggling(t.key)) expect(strugglingBefore).toBeLessThan(share);
              if (unproven(t.key)) expect(unprovenBefore).toBeLessThan(unprovenShare);
            } else if ("knownFailing" in o) {
              const k = o.knownFailing;
              if ((inFlight.get(k) ?? 0) === 0) continue;
              if (!(struggling(k) && heard.has(k))) {
                window.set(k, 1);
                strikes.set(k, Math.max(1, strikes.get(k) ?? 0));
              }
              q.knownFailing(k);
            } else if ((inFlight.get(o.done) ?? 0) > 0) {
              const k = o.done;
              const w = window.get(k) ?? 1;
              if (o.answer === "answered") {
                q.answered(k);
                strikes.set(k, Math.floor((strikes.get(k) ?? 0) / 2));
                window.set(k, Math.min(limit, w + 1));
              } else if (o.answer === "slowly") {
                q.markSlow(k);
                strikes.set(k, SLOW_STRIKES);
              } else if (o.answer === "unanswered") {
                q.unanswered(k);
                strikes.set(k, SLOW_STRIKES);
                window.set(k, Math.max(1, Math.floor(w / 2)));
              }
              if (o.answer !== "none") heard.add(k);
              add(inFlight, k, -1);
              q.done(k);
              // Idle and never heard from: forgotten, a newcomer again when it next has rows.
              if (inFlight.get(k) === 0 && (queued.get(k) ?? 0) === 0 && !heard.has(k)) {
                strikes.delete(k);
                window.delete(k);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
