import { describe, expect, it } from "vitest";
import { attrs, cond, failure, L, pk, setUp, TableStore } from "./support.js";

describe("Tablestore emulator, driven by the tablestore SDK: tables and rows", () => {
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
});
