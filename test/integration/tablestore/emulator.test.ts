import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { describe, expect, it, onTestFinished } from "vitest";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";

// The real tablestore SDK is the client: every operation below goes over its own wire protocol.
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the SDK ships no types
const TableStore: any = require("tablestore");

async function setUp(credential = EMULATOR_CREDENTIAL) {
  const emulator = await startTablestoreEmulator();
  onTestFinished(() => emulator.close());
  const client = new TableStore.Client({
    endpoint: emulator.url,
    instancename: emulator.instance,
    accessKeyId: credential.accessKeyId,
    secretAccessKey: credential.accessKeySecret,
    maxRetries: 0,
  });
  await client.createTable({
    tableMeta: {
      tableName: "t",
      primaryKey: [
        { name: "ws", type: "STRING" },
        { name: "n", type: "INTEGER" },
      ],
    },
    reservedThroughput: { capacityUnit: { read: 0, write: 0 } },
    tableOptions: { timeToLive: -1, maxVersions: 1 },
  });
  return { emulator, client };
}

const L = (n: number) => TableStore.Long.fromNumber(n);
const pk = (ws: string, n: number) => [{ ws }, { n: L(n) }];
const cond = (existence: unknown, column: unknown = null) => new TableStore.Condition(existence, column);
const attrs = (row: { attributes?: Array<{ columnName: string; columnValue: unknown }> }) =>
  Object.fromEntries(
    (row.attributes ?? []).map((a) => [
      a.columnName,
      typeof a.columnValue === "object" && a.columnValue && "toNumber" in a.columnValue
        ? (a.columnValue as { toNumber(): number }).toNumber()
        : a.columnValue,
    ]),
  );
async function failure(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; message: string };
  }
  throw new Error("expected a failure");
}

describe("Tablestore emulator, driven by the tablestore SDK", () => {
  it("tables: create, list, describe, delete; errors as the service gives them", async () => {
    const { client } = await setUp();
    expect((await client.listTable({})).tableNames).toEqual(["t"]);
    const described = await client.describeTable({ tableName: "t" });
    expect(described.tableMeta.primaryKey.map((c: { name: string }) => c.name)).toEqual(["ws", "n"]);
    const again = await failure(
      client.createTable({
        tableMeta: { tableName: "t", primaryKey: [{ name: "ws", type: "STRING" }] },
        reservedThroughput: { capacityUnit: { read: 0, write: 0 } },
        tableOptions: { timeToLive: -1, maxVersions: 1 },
      }),
    );
    expect(again.code).toBe(409);
    expect(again.message).toContain("OTSObjectAlreadyExist");
    await client.deleteTable({ tableName: "t" });
    const gone = await failure(client.describeTable({ tableName: "t" }));
    expect(gone.code).toBe(404);
    expect(gone.message).toContain("OTSObjectNotExist");
  });

  it("PutRow, GetRow, DeleteRow with row-existence conditions", async () => {
    const { client } = await setUp();
    await client.putRow({
      tableName: "t",
      condition: cond(TableStore.RowExistenceExpectation.EXPECT_NOT_EXIST),
      primaryKey: pk("w", 1),
      attributeColumns: [{ s: "x" }, { i: L(5) }, { d: 1.5 }, { b: true }, { blob: Buffer.from("ab") }],
    });
    const got = await client.getRow({ tableName: "t", primaryKey: pk("w", 1) });
    expect(attrs(got.row)).toEqual({ s: "x", i: 5, d: 1.5, b: true, blob: Buffer.from("ab") });
    expect(
      (await client.getRow({ tableName: "t", primaryKey: pk("w", 1), columnsToGet: ["s"] })).row.attributes,
    ).toHaveLength(1);
    const twice = await failure(
      client.putRow({
        tableName: "t",
        condition: cond(TableStore.RowExistenceExpectation.EXPECT_NOT_EXIST),
        primaryKey: pk("w", 1),
        attributeColumns: [{ s: "y" }],
      }),
    );
    expect(twice.code).toBe(403);
    expect(twice.message).toContain("OTSConditionCheckFail");
    expect((await client.getRow({ tableName: "t", primaryKey: pk("w", 2) })).row).toEqual({});
    const missing = await failure(
      client.deleteRow({
        tableName: "t",
        condition: cond(TableStore.RowExistenceExpectation.EXPECT_EXIST),
        primaryKey: pk("w", 2),
      }),
    );
    expect(missing.code).toBe(403);
    await client.deleteRow({
      tableName: "t",
      condition: cond(TableStore.RowExistenceExpectation.EXPECT_EXIST),
      primaryKey: pk("w", 1),
    });
    expect((await client.getRow({ tableName: "t", primaryKey: pk("w", 1) })).row).toEqual({});
    const badPk = await failure(client.getRow({ tableName: "t", primaryKey: [{ ws: "w" }] }));
    expect(badPk.code).toBe(400);
    expect(badPk.message).toContain("OTSParameterInvalid");
  });

  it("UpdateRow: PUT, DELETE, DELETE_ALL, INCREMENT, and column conditions (single, composite, passIfMissing)", async () => {
    const { client } = await setUp();
    const C = TableStore.ComparatorType;
    await client.putRow({
      tableName: "t",
      condition: cond(TableStore.RowExistenceExpectation.IGNORE),
      primaryKey: pk("w", 1),
      attributeColumns: [{ owner: "a" }, { lease: L(100) }, { gone: "x" }],
    });
    // A lease claim: only while the lease has expired (lease < now) and the owner is not us.
    const expired = new TableStore.CompositeCondition(TableStore.LogicalOperator.AND);
    expired.addSubCondition(new TableStore.SingleColumnCondition("lease", L(150), C.LESS_THAN, true, true));
    expired.addSubCondition(new TableStore.SingleColumnCondition("owner", "b", C.NOT_EQUAL, true, true));
    await client.updateRow({
      tableName: "t",
      condition: cond(TableStore.RowExistenceExpectation.EXPECT_EXIST, expired),
      primaryKey: pk("w", 1),
      updateOfAttributeColumns: [
        { PUT: [{ owner: "b" }, { lease: L(300) }] },
        { DELETE_ALL: ["gone"] },
        { INCREMENT: [{ claims: L(1) }] },
      ],
    });
    expect(attrs((await client.getRow({ tableName: "t", primaryKey: pk("w", 1) })).row)).toEqual({
      owner: "b",
      lease: 300,
      claims: 1,
    });
    const again = await failure(
      client.updateRow({
        tableName: "t",
        condition: cond(TableStore.RowExistenceExpectation.EXPECT_EXIST, expired),
        primaryKey: pk("w", 1),
        updateOfAttributeColumns: [{ PUT: [{ owner: "c" }] }],
      }),
    );
    expect(again.code).toBe(403);
    // passIfMissing: a condition on a missing column passes only when asked to.
    const onMissing = (pass: boolean) => new TableStore.SingleColumnCondition("nope", "v", C.EQUAL, pass, true);
    await client.updateRow({
      tableName: "t",
      condition: cond(TableStore.RowExistenceExpectation.IGNORE, onMissing(true)),
      primaryKey: pk("w", 1),
      updateOfAttributeColumns: [{ INCREMENT: [{ claims: L(2) }] }],
    });
    expect(
      (
        await failure(
          client.updateRow({
            tableName: "t",
            condition: cond(TableStore.RowExistenceExpectation.IGNORE, onMissing(false)),
            primaryKey: pk("w", 1),
            updateOfAttributeColumns: [{ PUT: [{ x: "y" }] }],
          }),
        )
      ).code,
    ).toBe(403);
    const not = new TableStore.CompositeCondition(TableStore.LogicalOperator.NOT);
    not.addSubCondition(new TableStore.SingleColumnCondition("owner", "b", C.EQUAL, false, true));
    expect(
      (
        await failure(
          client.updateRow({
            tableName: "t",
            condition: cond(TableStore.RowExistenceExpectation.IGNORE, not),
            primaryKey: pk("w", 1),
            updateOfAttributeColumns: [{ PUT: [{ x: "y" }] }],
          }),
        )
      ).code,
    ).toBe(403);
    const row = attrs((await client.getRow({ tableName: "t", primaryKey: pk("w", 1) })).row);
    expect(row.claims).toBe(3);
    // DELETE of one version, by its timestamp.
    const withTs = (await client.getRow({ tableName: "t", primaryKey: pk("w", 1), columnsToGet: ["owner"] })).row
      .attributes[0];
    await client.updateRow({
      tableName: "t",
      condition: cond(TableStore.RowExistenceExpectation.IGNORE),
      primaryKey: pk("w", 1),
      updateOfAttributeColumns: [{ DELETE: [{ owner: withTs.timestamp }] }],
    });
    expect(attrs((await client.getRow({ tableName: "t", primaryKey: pk("w", 1) })).row).owner).toBeUndefined();
  });

  it("GetRange: both directions, INF_MIN/INF_MAX, limit and nextStartPrimaryKey paging", async () => {
    const { client } = await setUp();
    for (let n = 0; n < 25; n++) {
      await client.putRow({
        tableName: "t",
        condition: cond(TableStore.RowExistenceExpectation.IGNORE),
        primaryKey: pk(n % 2 ? "b" : "a", n),
        attributeColumns: [{ v: L(n) }],
      });
    }
    const read = async (direction: unknown, start: unknown[], end: unknown[], limit: number) => {
      const seen: number[] = [];
      let next = start;
      let pages = 0;
      while (next) {
        const r = await client.getRange({
          tableName: "t",
          direction,
          inclusiveStartPrimaryKey: next,
          exclusiveEndPrimaryKey: end,
          limit,
          maxVersions: 1,
        });
        seen.push(
          ...r.rows.map((row: { primaryKey: Array<{ value: { toNumber(): number } }> }) =>
            row.primaryKey[1]?.value.toNumber(),
          ),
        );
        next = r.nextStartPrimaryKey?.map((c: { name: string; value: unknown }) => ({ [c.name]: c.value }));
        pages++;
      }
      return { seen, pages };
    };
    const forward = await read(
      TableStore.Direction.FORWARD,
      [{ ws: "a" }, { n: TableStore.INF_MIN }],
      [{ ws: "a" }, { n: TableStore.INF_MAX }],
      5,
    );
    expect(forward.seen).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
    expect(forward.pages).toBe(3);
    const backward = await read(
      TableStore.Direction.BACKWARD,
      [{ ws: "b" }, { n: TableStore.INF_MAX }],
      [{ ws: "a" }, { n: L(20) }],
      4,
    );
    expect(backward.seen).toEqual([23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1, 24, 22]);
    const all = await read(
      TableStore.Direction.FORWARD,
      [{ ws: TableStore.INF_MIN }, { n: TableStore.INF_MIN }],
      [{ ws: TableStore.INF_MAX }, { n: TableStore.INF_MAX }],
      1000,
    );
    expect(all.seen).toHaveLength(25);
  });

  it("GetRange stops a page at 5,000 rows", async () => {
    const { client } = await setUp();
    for (let base = 0; base < 5_100; base += 200) {
      await client.batchWriteRow({
        tables: [
          {
            tableName: "t",
            rows: Array.from({ length: Math.min(200, 5_100 - base) }, (_, i) => ({
              type: "PUT",
              condition: cond(TableStore.RowExistenceExpectation.IGNORE),
              primaryKey: pk("w", base + i),
              attributeColumns: [{ v: "x" }],
            })),
          },
        ],
      });
    }
    const first = await client.getRange({
      tableName: "t",
      direction: TableStore.Direction.FORWARD,
      inclusiveStartPrimaryKey: [{ ws: TableStore.INF_MIN }, { n: TableStore.INF_MIN }],
      exclusiveEndPrimaryKey: [{ ws: TableStore.INF_MAX }, { n: TableStore.INF_MAX }],
    });
    expect(first.rows).toHaveLength(5_000);
    expect(first.nextStartPrimaryKey[1].value.toNumber()).toBe(5_000);
  }, 60_000);

  it("GetRange stops a page before 4 MB", async () => {
    const { client } = await setUp();
    const mb = "x".repeat(1024 * 1024);
    for (let n = 0; n < 6; n++) {
      await client.putRow({
        tableName: "t",
        condition: cond(TableStore.RowExistenceExpectation.IGNORE),
        primaryKey: pk("w", n),
        attributeColumns: [{ big: mb }],
      });
    }
    const first = await client.getRange({
      tableName: "t",
      direction: TableStore.Direction.FORWARD,
      inclusiveStartPrimaryKey: [{ ws: TableStore.INF_MIN }, { n: TableStore.INF_MIN }],
      exclusiveEndPrimaryKey: [{ ws: TableStore.INF_MAX }, { n: TableStore.INF_MAX }],
    });
    expect(first.rows).toHaveLength(3);
    expect(first.nextStartPrimaryKey[1].value.toNumber()).toBe(3);
  });

  it("BatchGetRow and BatchWriteRow: per-row results, and the 100/200-row limits", async () => {
    const { client } = await setUp();
    const written = await client.batchWriteRow({
      tables: [
        {
          tableName: "t",
          rows: [
            {
              type: "PUT",
              condition: cond(TableStore.RowExistenceExpectation.EXPECT_NOT_EXIST),
              primaryKey: pk("w", 1),
              attributeColumns: [{ v: "1" }],
            },
            {
              type: "PUT",
              condition: cond(TableStore.RowExistenceExpectation.EXPECT_NOT_EXIST),
              primaryKey: pk("w", 2),
              attributeColumns: [{ v: "2" }],
            },
            {
              type: "UPDATE",
              condition: cond(TableStore.RowExistenceExpectation.EXPECT_EXIST),
              primaryKey: pk("w", 3),
              attributeColumns: [{ PUT: [{ v: "3" }] }],
            },
          ],
        },
      ],
    });
    expect(
      written.tables.map((r: { isOk: boolean; errorCode?: string | null }) => [r.isOk, r.errorCode ?? undefined]),
    ).toEqual([
      [true, undefined],
      [true, undefined],
      [false, "OTSConditionCheckFail"],
    ]);
    const read = await client.batchGetRow({
      tables: [{ tableName: "t", primaryKey: [pk("w", 1), pk("w", 3)], maxVersions: 1 }],
    });
    expect(
      read.tables[0].map((r: { isOk: boolean; attributes?: unknown[] }) => [r.isOk, r.attributes?.length ?? 0]),
    ).toEqual([
      [true, 1],
      [true, 0],
    ]);
    const tooMany = await failure(
      client.batchGetRow({
        tables: [{ tableName: "t", primaryKey: Array.from({ length: 101 }, (_, i) => pk("w", i)), maxVersions: 1 }],
      }),
    );
    expect(tooMany.code).toBe(400);
    const tooManyWrites = await failure(
      client.batchWriteRow({
        tables: [
          {
            tableName: "t",
            rows: Array.from({ length: 201 }, (_, i) => ({
              type: "PUT",
              condition: cond(TableStore.RowExistenceExpectation.IGNORE),
              primaryKey: pk("w", i),
              attributeColumns: [{ v: "x" }],
            })),
          },
        ],
      }),
    );
    expect(tooManyWrites.code).toBe(400);
  });

  it("refuses a bad signature, an unknown key and a wrong instance", async () => {
    const { emulator } = await setUp();
    const bad = new TableStore.Client({
      endpoint: emulator.url,
      instancename: emulator.instance,
      accessKeyId: EMULATOR_CREDENTIAL.accessKeyId,
      secretAccessKey: "wrong",
      maxRetries: 0,
    });
    const e = await failure(bad.listTable({}));
    expect(e.code).toBe(403);
    expect(e.message).toContain("OTSAuthFailed");
    const unknown = new TableStore.Client({
      endpoint: emulator.url,
      instancename: emulator.instance,
      accessKeyId: "nobody",
      secretAccessKey: "x",
      maxRetries: 0,
    });
    expect((await failure(unknown.listTable({}))).code).toBe(403);
    const other = new TableStore.Client({
      endpoint: emulator.url,
      instancename: "other",
      accessKeyId: EMULATOR_CREDENTIAL.accessKeyId,
      secretAccessKey: EMULATOR_CREDENTIAL.accessKeySecret,
      maxRetries: 0,
    });
    expect((await failure(other.listTable({}))).code).toBe(403);
    expect(emulator.stats().rejected).toBe(3);
  });

  it("injects 503 OTSServerBusy, latency and dropped connections", async () => {
    const { emulator, client } = await setUp();
    emulator.inject({ operation: "PutRow", fault: { kind: "busy" }, times: 1 });
    const busy = await failure(
      client.putRow({
        tableName: "t",
        condition: cond(TableStore.RowExistenceExpectation.IGNORE),
        primaryKey: pk("w", 1),
        attributeColumns: [{ v: "x" }],
      }),
    );
    expect(busy.code).toBe(503);
    expect(busy.message).toContain("OTSServerBusy");
    emulator.inject({ operation: "GetRow", fault: { kind: "drop" }, times: 1 });
    await expect(client.getRow({ tableName: "t", primaryKey: pk("w", 1) })).rejects.toBeDefined();
    emulator.inject({ operation: "GetRow", fault: { kind: "latency", ms: 150 }, times: 1 });
    const started = performance.now();
    await client.getRow({ tableName: "t", primaryKey: pk("w", 1) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(emulator.stats().faults).toBe(2);
  });
});

describe("quanmiao-relay tablestore-emulator", () => {
  it("prints its URL first and serves the SDK", async () => {
    const child = spawn(
      process.execPath,
      [new URL("../../../bin/quanmiao-relay.js", import.meta.url).pathname, "tablestore-emulator", "--port", "0"],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    const [url] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new TableStore.Client({
      endpoint: url,
      instancename: "relay",
      accessKeyId: EMULATOR_CREDENTIAL.accessKeyId,
      secretAccessKey: EMULATOR_CREDENTIAL.accessKeySecret,
      maxRetries: 0,
    });
    expect((await client.listTable({})).tableNames).toEqual([]);
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  });
});
