/** The real tablestore SDK as the emulator's client: every operation goes over the SDK's own wire protocol. */
import { createRequire } from "node:module";
import { onTestFinished } from "vitest";
import { EMULATOR_CREDENTIAL, startTablestoreEmulator } from "../../../dev/tablestore-emulator/server.js";

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the SDK ships no types
export const TableStore: any = require("tablestore");

export async function setUp(credential = EMULATOR_CREDENTIAL) {
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

export const L = (n: number) => TableStore.Long.fromNumber(n);
export const pk = (ws: string, n: number) => [{ ws }, { n: L(n) }];
export const cond = (existence: unknown, column: unknown = null) => new TableStore.Condition(existence, column);
export const attrs = (row: { attributes?: Array<{ columnName: string; columnValue: unknown }> }) =>
  Object.fromEntries(
    (row.attributes ?? []).map((a) => [
      a.columnName,
      typeof a.columnValue === "object" && a.columnValue && "toNumber" in a.columnValue
        ? (a.columnValue as { toNumber(): number }).toNumber()
        : a.columnValue,
    ]),
  );
export async function failure(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; message: string };
  }
  throw new Error("expected a failure");
}
