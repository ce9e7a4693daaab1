/**
 * A Tablestore emulator on 127.0.0.1 that speaks the `tablestore` SDK's wire protocol: POST
 * /<Operation>, protobuf bodies (the SDK's own definitions), PlainBuffer rows, x-ots headers. Like the
 * service it checks the content MD5, the instance, the AccessKey, the STS token and the HMAC-SHA1
 * signature, and fails with an HTTP status and a protobuf Error. Faults can be injected per request.
 *
 * Operations: CreateTable, ListTable, DescribeTable, DeleteTable, PutRow, GetRow, UpdateRow,
 * DeleteRow, GetRange, BatchGetRow, BatchWriteRow.
 */

import { createHash, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { type Clock, systemClock } from "../../lib/clock.js";
import { coerceError } from "../../lib/errors.js";
import { type Cell, encodeRow, encodeRows, type Row, type Value } from "../../lib/store/tablestore/wire/plainbuffer.js";
import { decodeRow } from "../../lib/store/tablestore/wire/plainbuffer-decode.js";
import { listenOnLoopback } from "../loopback.js";
import { seededRandom } from "../seeded-random.js";
import { authenticate, type EmulatorCredential } from "./auth.js";
import { bytes, checkAttributes, decodeCondition, PK_TYPES } from "./conditions.js";
import { message } from "./proto.js";
import { Instance, invalid, OtsError, type Table, toRow, type WriteCondition } from "./tables.js";

export type { EmulatorCredential } from "./auth.js";

export const EMULATOR_CREDENTIAL: EmulatorCredential = {
  accessKeyId: "ots-emulator-key",
  accessKeySecret: "ots-emulator-secret",
};
export const EMULATOR_INSTANCE = "relay";

export type EmulatorFault =
  | { readonly kind: "busy" }
  | { readonly kind: "latency"; readonly ms: number }
  | { readonly kind: "drop" };

export interface FaultRule {
  readonly fault: EmulatorFault;
  readonly operation?: string;
  /** Share of matching requests hit (seeded); default all. */
  readonly rate?: number;
  /** Only PutRow, UpdateRow, DeleteRow and BatchWriteRow (the writes the SDK does not retry). */
  readonly writesOnly?: boolean;
  readonly times?: number;
}

export interface EmulatorOptions {
  readonly port?: number;
  readonly instance?: string;
  readonly credentials?: readonly EmulatorCredential[];
  readonly clock?: Clock;
  readonly seed?: string;
}

export interface Emulator {
  readonly url: string;
  readonly instance: string;
  inject(rule: FaultRule): void;
  clearFaults(): void;
  stats(): { requests: Record<string, number>; faults: number; rejected: number };
  /** Row operations on a table by partition (its first key column's value). */
  partitionOps(table: string): Record<string, number>;
  close(): Promise<void>;
}

const WRITE_OPS = new Set(["PutRow", "UpdateRow", "DeleteRow", "BatchWriteRow"]);
const MAX_BODY = 6 * 1024 * 1024;
const RANGE_ROW_LIMIT = 5000;
const RANGE_BYTE_LIMIT = 4 * 1024 * 1024;
const consumed = (read: number, write: number) => ({ capacityUnit: { read, write } });

export async function startTablestoreEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = options.clock ?? systemClock;
  const instanceName = options.instance ?? EMULATOR_INSTANCE;
  const credentials = new Map((options.credentials ?? [EMULATOR_CREDENTIAL]).map((c) => [c.accessKeyId, c]));
  const instance = new Instance();
  const random = seededRandom(options.seed ?? "tablestore-emulator");
  let rules: Array<{ rule: FaultRule; left: number }> = [];
  const requests: Record<string, number> = {};
  let faults = 0;
  let rejected = 0;

  function takeFault(operation: string): { latencyMs: number; fault: EmulatorFault | undefined } {
    let latencyMs = 0;
    let fault: EmulatorFault | undefined;
    for (const entry of rules) {
      const { rule } = entry;
      if (entry.left <= 0 || (rule.operation && rule.operation !== operation)) continue;
      if (rule.writesOnly && !WRITE_OPS.has(operation)) continue;
      if (rule.rate !== undefined && random() >= rule.rate) continue;
      entry.left--;
      if (rule.fault.kind === "latency") latencyMs += rule.fault.ms;
      else fault ??= rule.fault;
    }
    rules = rules.filter((e) => e.left > 0);
    return { latencyMs, fault };
  }

  function readRow(table: Table, pkBytes: Uint8Array, columnsToGet: readonly string[] | undefined): Buffer {
    const pk = table.primaryKey(decodeRow(pkBytes).primaryKey);
    const row = table.get(pk);
    return row ? encodeRow(toRow(table.schema, row, { columnsToGet })) : Buffer.alloc(0);
  }

  function returnRow(
    table: Table,
    pk: readonly Value[],
    returnType: number | undefined,
    incremented: Cell[],
  ): Buffer | undefined {
    const pkCells = table.schema.primaryKey.map((c, i) => ({ name: c.name, value: pk[i] as Value }));
    if (returnType === 1) return encodeRow({ primaryKey: pkCells, attributes: [] });
    if (returnType === 2) return encodeRow({ primaryKey: pkCells, attributes: incremented });
    return undefined;
  }

  /** One row write; used by PutRow/UpdateRow/DeleteRow and by each row of BatchWriteRow. */
  function writeRow(
    table: Table,
    type: "PUT" | "UPDATE" | "DELETE",
    rowBytes: Uint8Array,
    condition: WriteCondition,
    returnType: number | undefined,
  ): Buffer | undefined {
    const row: Row = decodeRow(rowBytes);
    const pk = table.primaryKey(row.primaryKey);
    checkAttributes(row.attributes);
    const now = clock.now();
    if (type === "PUT") {
      table.put(pk, row.attributes, condition, now);
      return returnRow(table, pk, returnType, []);
    }
    if (type === "UPDATE") return returnRow(table, pk, returnType, table.update(pk, row.attributes, condition, now));
    table.delete(pk, condition);
    return returnRow(table, pk, returnType, []);
  }

  function handle(operation: string, body: Buffer): Uint8Array {
    const decode = (name: string) => message(name).decode(body) as Record<string, unknown>;
    const answer = (name: string, value: Record<string, unknown>) => message(name).encode(value).finish();
    switch (operation) {
      case "CreateTable": {
        const r = decode("CreateTableRequest") as {
          tableMeta: { tableName: string; primaryKey: Array<{ name: string; type: number }> };
          tableOptions?: { timeToLive?: number; maxVersions?: number };
        };
        const primaryKey = r.tableMeta.primaryKey.map((c) => {
          const type = PK_TYPES[c.type];
          if (!type) throw invalid(`Unknown primary key type ${c.type}.`);
          return { name: c.name, type };
        });
        instance.create({
          name: r.tableMeta.tableName,
          primaryKey,
          timeToLive: r.tableOptions?.timeToLive ?? -1,
          maxVersions: r.tableOptions?.maxVersions ?? 1,
        });
        return answer("CreateTableResponse", {});
      }
      case "ListTable":
        return answer("ListTableResponse", { tableNames: instance.names() });
      case "DescribeTable": {
        const { tableName } = decode("DescribeTableRequest") as { tableName: string };
        const { schema } = instance.table(tableName);
        return answer("DescribeTableResponse", {
          tableMeta: {
            tableName,
            primaryKey: schema.primaryKey.map((c) => ({
              name: c.name,
              type: { INTEGER: 1, STRING: 2, BINARY: 3 }[c.type],
            })),
          },
          reservedThroughputDetails: { capacityUnit: { read: 0, write: 0 }, lastIncreaseTime: 0 },
          tableOptions: { timeToLive: schema.timeToLive, maxVersions: schema.maxVersions },
          tableStatus: 1,
        });
      }
      case "DeleteTable": {
        instance.delete((decode("DeleteTableRequest") as { tableName: string }).tableName);
        return answer("DeleteTableResponse", {});
      }
      case "GetRow": {
        const r = decode("GetRowRequest") as { tableName: string; primaryKey: Uint8Array; columnsToGet: string[] };
        const row = readRow(instance.table(r.tableName), r.primaryKey, r.columnsToGet);
        return answer("GetRowResponse", { consumed: consumed(1, 0), row });
      }
      case "PutRow":
      case "UpdateRow":
      case "DeleteRow": {
        const r = decode(`${operation}Request`) as {
          tableName: string;
          row?: Uint8Array;
          rowChange?: Uint8Array;
          primaryKey?: Uint8Array;
          condition: unknown;
          returnContent?: { returnType?: number };
        };
        if (body.length > 4 * 1024 * 1024)
          throw new OtsError(413, "OTSRequestBodyTooLarge", "The request body is too large.");
        const type = operation === "PutRow" ? "PUT" : operation === "UpdateRow" ? "UPDATE" : "DELETE";
        const rowBytes = bytes(r.row ?? r.rowChange ?? r.primaryKey);
        const row = writeRow(
          instance.table(r.tableName),
          type,
          rowBytes,
          decodeCondition(r.condition),
          r.returnContent?.returnType,
        );
        return answer(`${operation}Response`, { consumed: consumed(0, 1), ...(row ? { row } : {}) });
      }
      case "GetRange": {
        const r = decode("GetRangeRequest") as {
          tableName: string;
          direction: number;
          columnsToGet: string[];
          limit?: number;
          inclusiveStartPrimaryKey: Uint8Array;
          exclusiveEndPrimaryKey: Uint8Array;
        };
        const table = instance.table(r.tableName);
        const start = table.primaryKey(decodeRow(r.inclusiveStartPrimaryKey).primaryKey, { allowInfinite: true });
        const end = table.primaryKey(decodeRow(r.exclusiveEndPrimaryKey).primaryKey, { allowInfinite: true });
        // protobufjs puts defaults on the prototype: only an own property was actually sent.
        const sentLimit = Object.hasOwn(r, "limit") ? r.limit : undefined;
        if (sentLimit !== undefined && sentLimit !== null && sentLimit <= 0)
          throw invalid("The limit must be positive.");
        const limit = Math.min(sentLimit || RANGE_ROW_LIMIT, RANGE_ROW_LIMIT);
        const { rows, next } = table.range(start, end, r.direction === 1, limit, RANGE_BYTE_LIMIT);
        const encoded =
          rows.length > 0
            ? encodeRows(rows.map((row) => toRow(table.schema, row, { columnsToGet: r.columnsToGet })))
            : Buffer.alloc(0);
        const nextPk = next
          ? encodeRow({
              primaryKey: table.schema.primaryKey.map((c, i) => ({ name: c.name, value: next[i] as Value })),
              attributes: [],
            })
          : undefined;
        return answer("GetRangeResponse", {
          consumed: consumed(Math.max(1, rows.length), 0),
          rows: encoded,
          ...(nextPk ? { nextStartPrimaryKey: nextPk } : {}),
        });
      }
      case "BatchGetRow": {
        const r = decode("BatchGetRowRequest") as {
          tables: Array<{ tableName: string; primaryKey: Uint8Array[]; columnsToGet: string[] }>;
        };
        const count = r.tables.reduce((n, t) => n + t.primaryKey.length, 0);
        if (count > 100) throw invalid(`Rows count exceeds the upper limit: 100.`);
        return answer("BatchGetRowResponse", {
          tables: r.tables.map((t) => ({
            tableName: t.tableName,
            rows: t.primaryKey.map((pk) => {
              try {
                return {
                  isOk: true,
                  consumed: consumed(1, 0),
                  row: readRow(instance.table(t.tableName), pk, t.columnsToGet),
                };
              } catch (error) {
                if (!(error instanceof OtsError)) throw error;
                return { isOk: false, error: { code: error.code, message: error.message } };
              }
            }),
          })),
        });
      }
      case "BatchWriteRow": {
        const r = decode("BatchWriteRowRequest") as {
          tables: Array<{
            tableName: string;
            rows: Array<{
              type: number;
              rowChange: Uint8Array;
              condition: unknown;
              returnContent?: { returnType?: number };
            }>;
          }>;
        };
        const count = r.tables.reduce((n, t) => n + t.rows.length, 0);
        if (count > 200) throw invalid(`Rows count exceeds the upper limit: 200.`);
        if (body.length > 4 * 1024 * 1024)
          throw new OtsError(413, "OTSRequestBodyTooLarge", "The request body is too large.");
        return answer("BatchWriteRowResponse", {
          tables: r.tables.map((t) => ({
            tableName: t.tableName,
            rows: t.rows.map((row) => {
              try {
                const type = ({ 1: "PUT", 2: "UPDATE", 3: "DELETE" } as const)[row.type as 1 | 2 | 3];
                if (!type) throw invalid(`Unknown operation type ${row.type}.`);
                const returned = writeRow(
                  instance.table(t.tableName),
                  type,
                  row.rowChange,
                  decodeCondition(row.condition),
                  row.returnContent?.returnType,
                );
                return { isOk: true, consumed: consumed(0, 1), ...(returned ? { row: returned } : {}) };
              } catch (error) {
                if (!(error instanceof OtsError)) throw error;
                return { isOk: false, error: { code: error.code, message: error.message } };
              }
            }),
          })),
        });
      }
      default:
        throw new OtsError(400, "OTSUnsupportOperation", `Unsupported operation: '${operation}'.`);
    }
  }

  function reply(res: ServerResponse, status: number, body: Uint8Array): void {
    res.writeHead(status, {
      "x-ots-requestid": randomUUID(),
      "x-ots-contentmd5": createHash("md5").update(body).digest("base64"),
      "x-ots-contenttype": "protocol buffer",
      "content-length": body.length,
    });
    res.end(body);
  }

  const loopback = await listenOnLoopback(async (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        reply(
          res,
          413,
          message("Error")
            .encode({ code: "OTSRequestBodyTooLarge", message: "The request body is too large." })
            .finish(),
        );
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const operation = (req.url ?? "/").slice(1).split("?")[0] ?? "";
    requests[operation] = (requests[operation] ?? 0) + 1;
    try {
      if (req.method !== "POST") throw new OtsError(405, "OTSMethodNotAllowed", "Only POST is allowed.");
      authenticate(req, operation, body, { instanceName, credentials, clock });
    } catch (error) {
      rejected++;
      const e = error as OtsError;
      reply(res, e.status, message("Error").encode({ code: e.code, message: e.message }).finish());
      return;
    }
    const { latencyMs, fault } = takeFault(operation);
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    if (fault?.kind === "drop") {
      faults++;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "busy") {
      faults++;
      reply(res, 503, message("Error").encode({ code: "OTSServerBusy", message: "Server is busy." }).finish());
      return;
    }
    try {
      reply(res, 200, handle(operation, body));
    } catch (error) {
      const e =
        error instanceof OtsError ? error : new OtsError(400, "OTSParameterInvalid", coerceError(error).message);
      reply(res, e.status, message("Error").encode({ code: e.code, message: e.message }).finish());
    }
  }, options.port);
  return {
    url: loopback.url,
    instance: instanceName,
    inject(rule) {
      rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      rules = [];
    },
    stats: () => ({ requests: { ...requests }, faults, rejected }),
    partitionOps: (table) => Object.fromEntries(instance.table(table).partitionOps),
    close: loopback.close,
  };
}
