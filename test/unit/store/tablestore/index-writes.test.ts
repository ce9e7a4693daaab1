import { describe, expect, it } from "vitest";
import {
  type IndexEntry,
  type IndexOp,
  IndexWrites,
  MAX_BATCH_ROWS,
} from "../../../../lib/store/tablestore/index-writes.js";
import type { Pk } from "../../../../lib/store/tablestore/wire/values.js";

/** A writer that records each request and fails the rows (or whole requests) it is told to. */
function recorder(options: { failRows?: (e: IndexEntry) => boolean; failBatch?: Error; failSingle?: Error } = {}) {
  const batches: IndexEntry[][] = [];
  const singles: IndexEntry[] = [];
  const flushes: Array<() => void> = [];
  const writes = new IndexWrites(
    {
      async batch(entries) {
        batches.push([...entries]);
        if (options.failBatch) throw options.failBatch;
        return entries.map((e) => !options.failRows?.(e));
      },
      async single(entry) {
        singles.push(entry);
        if (options.failSingle) throw options.failSingle;
      },
    },
    (flush) => flushes.push(flush),
  );
  const runFlushes = () => {
    for (let f = flushes.shift(); f; f = flushes.shift()) f();
  };
  return { writes, batches, singles, runFlushes };
}

const pk = (id: string): Pk => [{ id }];

describe("index writes", () => {
  it("puts and deletes of one turn, in several tables, go in one batch; each caller waits for its own", async () => {
    const { writes, batches, singles, runFlushes } = recorder();
    let settled = 0;
    const all = [writes.put("a", pk("1")), writes.remove("b", pk("2")), writes.put("b", pk("3"))].map((p) =>
      p.then(() => settled++),
    );
    await Promise.resolve();
    expect(batches).toHaveLength(0);
    expect(settled).toBe(0);
    runFlushes();
    await Promise.all(all);
    expect(batches).toEqual([
      [
        { table: "a", pk: pk("1"), op: "PUT" },
        { table: "b", pk: pk("2"), op: "DELETE" },
        { table: "b", pk: pk("3"), op: "PUT" },
      ].map((e) => expect.objectContaining(e)),
    ]);
    expect(singles).toHaveLength(0);
  });

  it("a row the batch did not write is written alone; a row that fails alone fails only its caller", async () => {
    const failing = recorder({ failRows: (e) => e.table === "x" });
    const ok = failing.writes.put("a", pk("1"));
    const retried = failing.writes.put("x", pk("2"));
    failing.runFlushes();
    await Promise.all([ok, retried]);
    expect(failing.singles.map((e) => e.table)).toEqual(["x"]);

    const broken = recorder({ failRows: (e) => e.table === "x", failSingle: new Error("still down") });
    const fine = broken.writes.put("a", pk("1"));
    const lost = broken.writes.remove("x", pk("2"));
    broken.runFlushes();
    await expect(fine).resolves.toBeUndefined();
    await expect(lost).rejects.toThrow("still down");
  });

  it("a request that failed after its retries fails every caller, without 200 more requests", async () => {
    const { writes, singles, runFlushes } = recorder({ failBatch: new Error("unavailable") });
    const a = writes.put("a", pk("1"));
    const b = writes.put("a", pk("2"));
    runFlushes();
    await expect(a).rejects.toThrow("unavailable");
    await expect(b).rejects.toThrow("unavailable");
    expect(singles).toHaveLength(0);
  });

  it("a second write of one row starts the next batch (a batch may not name a row twice); 200 rows fill one", async () => {
    const { writes, batches, runFlushes } = recorder();
    const first = writes.put("a", pk("1"));
    const again = writes.remove("a", pk("1"));
    runFlushes();
    await Promise.all([first, again]);
    expect(batches.map((b) => b.map((e) => e.op))).toEqual([["PUT"], ["DELETE"]]);

    batches.length = 0;
    const many = Array.from({ length: MAX_BATCH_ROWS + 5 }, (_, i) => writes.put("a", pk(String(i))));
    runFlushes();
    await Promise.all(many);
    expect(batches.map((b) => b.length)).toEqual([MAX_BATCH_ROWS, 5]);
  });

  it("the batch after a row's second write is sent only once the first is written", async () => {
    const sent: IndexOp[][] = [];
    let finishFirst: (() => void) | undefined;
    const flushes: Array<() => void> = [];
    const writes = new IndexWrites(
      {
        batch(entries) {
          sent.push(entries.map((e) => e.op));
          if (sent.length > 1) return Promise.resolve(entries.map(() => true));
          return new Promise((resolve) => {
            finishFirst = () => resolve(entries.map(() => true));
          });
        },
        async single() {},
      },
      (flush) => flushes.push(flush),
    );
    const put = writes.put("a", pk("1"));
    const removed = writes.remove("a", pk("1"));
    for (const f of flushes.splice(0)) f();
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([["PUT"]]); // the delete waits: sent now, it could overtake the put
    finishFirst?.();
    await Promise.all([put, removed]);
    expect(sent).toEqual([["PUT"], ["DELETE"]]);
  });
});
