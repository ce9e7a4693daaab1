import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, expect, it, onTestFinished } from "vitest";
import { EMULATOR_CREDENTIAL } from "../../../dev/tablestore-emulator/server.js";
import { EXIT } from "../../../lib/cli/io.js";
import { runCli } from "../../support/cli.js";
import { cond, failure, L, pk, setUp, TableStore } from "./support.js";

describe("Tablestore emulator, driven by the tablestore SDK: ranges, signatures and faults", () => {
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

  it("--instance names its instance, and the relay's own AccessKey and STS token (ALIBABA_CLOUD_*) work too", async () => {
    const key = { accessKeyId: "STS.relay-dev", accessKeySecret: "relay-dev-secret", securityToken: "relay-dev-token" };
    const child = spawn(
      process.execPath,
      [
        new URL("../../../bin/quanmiao-relay.js", import.meta.url).pathname,
        "tablestore-emulator",
        "--port",
        "0",
        "--instance",
        "relay-dev",
      ],
      {
        stdio: ["ignore", "pipe", "ignore"],
        env: {
          PATH: process.env.PATH,
          ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
          ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
          ALIBABA_CLOUD_SECURITY_TOKEN: key.securityToken,
        },
      },
    );
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    const [url] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const client = (
      instancename: string,
      c: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
    ) =>
      new TableStore.Client({
        endpoint: url,
        instancename,
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.accessKeySecret,
        ...(c.securityToken ? { stsToken: c.securityToken } : {}),
        maxRetries: 0,
      });
    expect((await client("relay-dev", key).listTable({})).tableNames).toEqual([]);
    expect((await client("relay-dev", EMULATOR_CREDENTIAL).listTable({})).tableNames).toEqual([]);
    expect((await failure(client("relay", key).listTable({}))).code).toBe(403);
    expect((await failure(client("relay-dev", { ...key, securityToken: "other" }).listTable({}))).code).toBe(403);
    child.kill("SIGINT");
    expect((await once(child, "exit"))[0]).toBe(0);
  });

  it("refuses an instance name Tablestore would not accept", async () => {
    const result = await runCli(["tablestore-emulator", "--port", "0", "--instance", "no_underscores"], {});
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toMatch(/--instance "no_underscores"/);
  });
});
