import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";
import { condition, EXPECT_NOT_EXIST } from "../../../lib/store/tablestore/client.js";
import { OtsClient, type OtsCredentials, TablestoreError } from "../../../lib/store/tablestore/wire/ots-client.js";
import { type AttributeValue, Int64 } from "../../../lib/store/tablestore/wire/values.js";

async function emulatorAndClient(credentials: () => OtsCredentials = () => EMULATOR_CREDENTIAL, timeoutMs = 5_000) {
  const emulator = await startTablestoreEmulator({
    credentials: [EMULATOR_CREDENTIAL, { accessKeyId: "STS.b", accessKeySecret: "b-secret", securityToken: "tb" }],
  });
  onTestFinished(() => emulator.close());
  const client = new OtsClient({ endpoint: emulator.url, instance: emulator.instance, credentials, timeoutMs });
  onTestFinished(() => client.close());
  await client.createTable({ tableName: "t", primaryKey: [{ name: "id", type: "STRING" }] });
  return { emulator, client };
}

describe("the relay's own Tablestore client, against the emulator", () => {
  it("writes and reads back every value type; a missing row reads as empty", async () => {
    const { client } = await emulatorAndClient();
    const columns: Array<Record<string, AttributeValue>> = [
      { s: "text ✓" },
      { i: Int64.from(2 ** 53 + 2) },
      { d: 1.5 },
      { b: true },
      { x: Buffer.from([0, 255]) },
    ];
    await client.putRow({
      tableName: "t",
      condition: condition(EXPECT_NOT_EXIST),
      primaryKey: [{ id: "a" }],
      attributeColumns: columns,
    });
    const { row } = await client.getRow({ tableName: "t", primaryKey: [{ id: "a" }] });
    expect(row.primaryKey).toEqual([{ name: "id", value: "a" }]);
    const values = Object.fromEntries((row.attributes ?? []).map((a) => [a.columnName, a.columnValue]));
    expect(values).toEqual({ s: "text ✓", i: new Int64(2n ** 53n + 2n), d: 1.5, b: true, x: Buffer.from([0, 255]) });
    expect((await client.getRow({ tableName: "t", primaryKey: [{ id: "none" }] })).row).toEqual({});
    expect((await client.listTable()).tableNames).toEqual(["t"]);
  });

  it("a failed condition is the service's OTSConditionCheckFail, not retryable", async () => {
    const { client } = await emulatorAndClient();
    const put = () =>
      client.putRow({
        tableName: "t",
        condition: condition(EXPECT_NOT_EXIST),
        primaryKey: [{ id: "a" }],
        attributeColumns: [],
      });
    await put();
    await expect(put()).rejects.toMatchObject({ status: 403, code: "OTSConditionCheckFail", retryable: false });
  });

  it("asks for credentials before every request (STS rotates) and reports a refused key as permanent", async () => {
    let current: OtsCredentials = EMULATOR_CREDENTIAL;
    let asked = 0;
    const { client } = await emulatorAndClient(() => {
      asked++;
      return current;
    });
    current = { accessKeyId: "STS.b", accessKeySecret: "b-secret", securityToken: "tb" };
    await client.getRow({ tableName: "t", primaryKey: [{ id: "a" }] });
    expect(asked).toBe(2);
    current = { ...current, accessKeySecret: "wrong" };
    const error = await client.getRow({ tableName: "t", primaryKey: [{ id: "a" }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TablestoreError);
    expect(error).toMatchObject({ status: 403, code: "OTSAuthFailed", retryable: false, operation: "GetRow" });
  });

  it("a slow answer times out, a dropped connection and a refused port fail, all retryable", async () => {
    const { client, emulator } = await emulatorAndClient(undefined, 300);
    emulator.inject({ operation: "GetRow", fault: { kind: "latency", ms: 2_000 }, times: 1 });
    const started = Date.now();
    await expect(client.getRow({ tableName: "t", primaryKey: [{ id: "a" }] })).rejects.toMatchObject({
      status: undefined,
      retryable: true,
    });
    expect(Date.now() - started).toBeLessThan(1_500);
    emulator.inject({ operation: "GetRow", fault: { kind: "drop" }, times: 1 });
    await expect(client.getRow({ tableName: "t", primaryKey: [{ id: "a" }] })).rejects.toMatchObject({
      retryable: true,
    });
    const closed = new OtsClient({
      endpoint: "http://127.0.0.1:9",
      instance: "x",
      credentials: () => EMULATOR_CREDENTIAL,
      timeoutMs: 1_000,
    });
    onTestFinished(() => closed.close());
    await expect(closed.listTable()).rejects.toMatchObject({ status: undefined, retryable: true });
  });

  it("an answer that is not Tablestore's (a proxy's error page) keeps its status and says so", async () => {
    const proxy = createServer((_req, res) =>
      res.writeHead(502, { "content-type": "text/html" }).end("<html>bad gateway</html>"),
    );
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const client = new OtsClient({
      endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      instance: "x",
      credentials: () => EMULATOR_CREDENTIAL,
      timeoutMs: 1_000,
    });
    onTestFinished(() => client.close());
    await expect(client.listTable()).rejects.toMatchObject({
      status: 502,
      retryable: true,
      message: expect.stringContaining("HTTP 502"),
    });
  });
});
