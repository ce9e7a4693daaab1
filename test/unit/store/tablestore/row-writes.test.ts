import { describe, expect, it } from "vitest";
import {
  indexDelete,
  indexPut,
  MAX_BATCH_BYTES,
  MAX_BATCH_ROWS,
  type RowWrite,
  RowWrites,
} from "../../../../lib/store/tablestore/row-writes.js";
import { EXPECT_EXIST } from "../../../../lib/store/tablestore/wire/messages.js";
import type { Pk } from "../../../../lib/store/tablestore/wire/values.js";

interface Entry {
  readonly table: string;
  readonly pk: Pk;
  readonly op: RowWrite["change"]["type"];
}
const entry = (w: RowWrite): Entry => ({ table: w.table, pk: w.change.primaryKey, op: w.change.type });

/**
 * A writer that records each request; rows it is told to fail fail for another reason than their
 * condition (written alone next), rows whose condition it is told to fail come back false.
 */
function recorder(
  options: {
    failRows?: (e: Entry) => boolean;
    failConditions?: (e: Entry) => boolean;
    failBatch?: Error;
    failSingle?: Error;
  } = {},
) {
  const batches: Entry[][] = [];
  const singles: Entry[] = [];
  const flushes: Array<() => void> = [];
  const writes = new RowWrites(
    {
      async batch(rows) {
        batches.push(rows.map(entry));
        if (options.failBatch) throw options.failBatch;
        return rows.map((w) =>
          options.failConditions?.(entry(w)) ? false : options.failRows?.(entry(w)) ? undefined : true,
        );
      },
      async single(w) {
        singles.push(entry(w));
        if (options.failSingle) throw options.failSingle;
        return true;
      },
    },
    (flush) => flushes.push(flush),
  );
  const index = {
    put: (table: string, pk: Pk) => writes.write(table, indexPut(pk)),
    remove: (table: string, pk: Pk) => writes.write(table, indexDelete(pk)),
  };
  const runFlushes = () => {
    for (let f = flushes.shift(); f; f = flushes.shift()) f();
  };
  return { writes, index, batches, singles, runFlushes };
}

const pk = (id: string): Pk => [{ id }];

describe("row writes", () => {
  it("puts and deletes of one turn, in several tables, go in one batch; each caller waits for its own", async () => {
    const { index, batches, singles, runFlushes } = recorder();
    let settled = 0;
    const all = [index.put("a", pk("1")), index.remove("b", pk("2")), index.put("b", pk("3"))].map((p) =>
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
    const ok = failing.index.put("a", pk("1"));
    const retried = failing.index.put("x", pk("2"));
    failing.runFlushes();
    await Promise.all([ok, retried]);
    expect(failing.singles.map((e) => e.table)).toEqual(["x"]);

    const broken = recorder({ failRows: (e) => e.table === "x", failSingle: new Error("still down") });
    const fine = broken.index.put("a", pk("1"));
    const lost = broken.index.remove("x", pk("2"));
    broken.runFlushes();
    await expect(fine).resolves.toBe(true);
    await expect(lost).rejects.toThrow("still down");
  });

  it("a request that failed after its retries fails every caller, without 200 more requests", async () => {
    const { index, singles, runFlushes } = recorder({ failBatch: new Error("unavailable") });
    const a = index.put("a", pk("1"));
    const b = index.put("a", pk("2"));
    runFlushes();
    await expect(a).rejects.toThrow("unavailable");
    await expect(b).rejects.toThrow("unavailable");
    expect(singles).toHaveLength(0);
  });

  it("a second write of one row starts the next batch (a batch may not name a row twice); 200 rows fill one", async () => {
    const { index, batches, runFlushes } = recorder();
    const first = index.put("a", pk("1"));
    const again = index.remove("a", pk("1"));
    runFlushes();
    await Promise.all([first, again]);
    expect(batches.map((b) => b.map((e) => e.op))).toEqual([["PUT"], ["DELETE"]]);

    batches.length = 0;
    const many = Array.from({ length: MAX_BATCH_ROWS + 5 }, (_, i) => index.put("a", pk(String(i))));
    runFlushes();
    await Promise.all(many);
    expect(batches.map((b) => b.length)).toEqual([MAX_BATCH_ROWS, 5]);
  });

  it("the batch after a row's second write is sent only once the first is written", async () => {
    const sent: string[][] = [];
    let finishFirst: (() => void) | undefined;
    const flushes: Array<() => void> = [];
    const writes = new RowWrites(
      {
        batch(entries) {
          sent.push(entries.map((e) => e.change.type));
          if (sent.length > 1) return Promise.resolve(entries.map(() => true));
          return new Promise((resolve) => {
            finishFirst = () => resolve(entries.map(() => true));
          });
        },
        async single() {
          return true;
        },
      },
      (flush) => flushes.push(flush),
    );
    const put = writes.write("a", indexPut(pk("1")));
    const removed = writes.write("a", indexDelete(pk("1")));
    for (const f of flushes.splice(0)) f();
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([["PUT"]]); // the delete waits: sent now, it could overtake the put
    finishFirst?.();
    await Promise.all([put, removed]);
    expect(sent).toEqual([["PUT"], ["DELETE"]]);
  });

  it("conditional writes share the batch and each hears its own condition; a failed condition is not retried", async () => {
    const { writes, batches, singles, runFlushes } = recorder({ failConditions: (e) => e.pk[0]?.id === "lost" });
    const claim = (id: string) =>
      writes.write("tasks", {
        type: "UPDATE",
        condition: { existence: EXPECT_EXIST },
        primaryKey: pk(id),
        updateOfAttributeColumns: [{ PUT: [{ lease_owner: "run" }] }],
      });
    const outcomes = [claim("won"), claim("lost"), writes.write("due", indexDelete(pk("won")))];
    runFlushes();
    expect(await Promise.all(outcomes)).toEqual([true, false, true]);
    expect(batches).toHaveLength(1);
    expect(singles).toHaveLength(0);
  });

  it("a batch is sent before its rows grow past the size limit", async () => {
    const { writes, batches, runFlushes } = recorder();
    const big = "x".repeat(MAX_BATCH_BYTES / 6); // about half the limit at three bytes a character
    const rows = [1, 2, 3].map((i) =>
      writes.write("deliveries", {
        type: "PUT",
        condition: { existence: EXPECT_EXIST },
        primaryKey: pk(String(i)),
        attributeColumns: [{ body: big }],
      }),
    );
    runFlushes();
    await Promise.all(rows);
    expect(batches.map((b) => b.length)).toEqual([1, 1, 1]);
  });

  it("a request refused for good is written row by row, so one bad row fails only its own caller", async () => {
    const permanent = Object.assign(new Error("OTSParameterInvalid: a column is too large"), { retryable: false });
    const badRow = new Error("the bad row, alone");
    const singles: string[] = [];
    const flushes: Array<() => void> = [];
    const writes = new RowWrites(
      {
        async batch() {
          throw permanent;
        },
        async single(w) {
          const id = String(w.change.primaryKey[0]?.id);
          singles.push(id);
          if (id === "bad") throw badRow;
          return true;
        },
      },
      (flush) => flushes.push(flush),
    );
    const good = writes.write("a", indexPut(pk("good")));
    const bad = writes.write("a", indexPut(pk("bad")));
    for (const f of flushes.splice(0)) f();
    await expect(good).resolves.toBe(true);
    await expect(bad).rejects.toBe(badRow);
    expect(singles.sort()).toEqual(["bad", "good"]);
  });
});
