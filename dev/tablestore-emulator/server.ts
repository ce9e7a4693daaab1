/**
 * A Tablestore emulator on 127.0.0.1 that speaks the `tablestore` SDK's wire protocol: POST
 * /<Operation>, protobuf bodies (the SDK's own definitions), PlainBuffer rows, x-ots headers. Like the
 * service it checks the content MD5, the instance, the AccessKey, the STS token and the HMAC-SHA1
 * signature, and fails with an HTTP status and a protobuf Error. Faults can be injected per request.
 *
 * Operations: CreateTable, ListTable, DescribeTable, DeleteTable, PutRow, GetRow, UpdateRow,
 * DeleteRow, GetRange, BatchGetRow, BatchWriteRow.
 */

import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Clock, systemClock } from "../../lib/clock.js";
import { coerceError } from "../../lib/errors.js";
import { listenOnLoopback } from "../loopback.js";
import { seededRandom } from "../seeded-random.js";
import { type Cell, decodeRow, decodeVariant, encodeRow, encodeRows, type Row, type Value } from "./plainbuffer.js";
import { filterMessage, message } from "./proto.js";
import {
  type ColumnCondition,
  type Comparator,
  Instance,
  invalid,
  OtsError,
  type PkType,
  type Table,
  toRow,
  type WriteCondition,
} from "./tables.js";

export interface EmulatorCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
}

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
  close(): Promise<void>;
}

const WRITE_OPS = new Set(["PutRow", "UpdateRow", "DeleteRow", "BatchWriteRow"]);
const MAX_BODY = 6 * 1024 * 1024;
const RANGE_ROW_LIMIT = 5000;
const RANGE_BYTE_LIMIT = 4 * 1024 * 1024;
const EXISTENCE = ["IGNORE", "EXPECT_EXIST", "EXPECT_NOT_EXIST"] as const;
const COMPARATORS: Record<number, Comparator> = {
  1: "EQUAL",
  2: "NOT_EQUAL",
  3: "GREATER_THAN",
  4: "GREATER_EQUAL",
  5: "LESS_THAN",
  6: "LESS_EQUAL",
};
const PK_TYPES: Record<number, PkType> = { 1: "INTEGER", 2: "STRING", 3: "BINARY" };
const consumed = (read: number, write: number) => ({ capacityUnit: { read, write } });

function bytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

function decodeColumnCondition(raw: Uint8Array): ColumnCondition {
  const filter = filterMessage("Filter").decode(raw) as { type: number; filter: Uint8Array };
  if (filter.type === 1) {
    const f = filterMessage("SingleColumnValueFilter").decode(filter.filter) as {
      comparator: number;
      columnName: string;
      columnValue: Uint8Array;
      filterIfMissing: boolean;
    };
    const comparator = COMPARATORS[f.comparator];
    if (!comparator) throw invalid(`Unknown comparator ${f.comparator}.`);
    return {
      kind: "single",
      column: f.columnName,
      comparator,
      value: decodeVariant(f.columnValue),
      passIfMissing: !f.filterIfMissing,
    };
  }
  if (filter.type === 2) {
    const f = filterMessage("CompositeColumnValueFilter").decode(filter.filter) as {
      combinator: number;
      subFilters: Array<{ type: number; filter: Uint8Array }>;
    };
    const operator = ({ 1: "NOT", 2: "AND", 3: "OR" } as const)[f.combinator as 1 | 2 | 3];
    if (!operator) throw invalid(`Unknown logical operator ${f.combinator}.`);
    const conditions = f.subFilters.map((sub) => decodeColumnCondition(filterMessage("Filter").encode(sub).finish()));
    if (operator === "NOT" ? conditions.length !== 1 : conditions.length < 2) {
      throw invalid(`A ${operator} condition has ${conditions.length} sub-conditions.`);
    }
    return { kind: "composite", operator, conditions };
  }
  throw invalid(`Unsupported column condition type ${filter.type}.`);
}

function decodeCondition(raw: unknown): WriteCondition {
  const c = (raw ?? {}) as { rowExistence?: number; columnCondition?: Uint8Array };
  const rowExistence = EXISTENCE[c.rowExistence ?? 0];
  if (!rowExistence) throw invalid(`Unknown row existence expectation ${c.rowExistence}.`);
  const column =
    c.columnCondition && c.columnCondition.length > 0 ? decodeColumnCondition(c.columnCondition) : undefined;
  return { rowExistence, column };
}

function checkAttributes(cells: readonly Cell[]): void {
  if (cells.length > 1024) throw invalid("The number of attribute columns exceeds the limit 1024.");
  for (const c of cells) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(c.name)) throw invalid(`Invalid column name: '${c.name}'.`);
    if (c.value && (c.value.type === "string" || c.value.type === "blob")) {
      const size = c.value.type === "string" ? Buffer.byteLength(c.value.value) : c.value.value.length;
      if (size > 2 * 1024 * 1024)
        throw invalid(`The length of attribute column: '${c.name}' exceeds the MaxLength:2097152.`);
    }
  }
}

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

  function authenticate(req: IncomingMessage, operation: string, body: Buffer): void {
    const h = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const md5 = createHash("md5").update(body).digest("base64");
    if (h("x-ots-contentmd5") !== md5)
      throw new OtsError(400, "OTSParameterInvalid", "x-ots-contentmd5 does not match the body.");
    if (h("x-ots-instancename") !== instanceName) {
      throw new OtsError(
        403,
        "OTSAuthFailed",
        `The instance '${h("x-ots-instancename")}' does not exist or is not yours.`,
      );
    }
    const credential = credentials.get(h("x-ots-accesskeyid") ?? "");
    if (!credential) throw new OtsError(403, "OTSAuthFailed", "The AccessKeyID does not exist.");
    if ((credential.securityToken ?? undefined) !== (h("x-ots-ststoken") ?? undefined)) {
      throw new OtsError(403, "OTSAuthFailed", "The STS token does not match the AccessKey.");
    }
    const date = Date.parse(h("x-ots-date") ?? "");
    if (!Number.isFinite(date) || Math.abs(date - clock.now()) > 15 * 60_000) {
      throw new OtsError(403, "OTSAuthFailed", "x-ots-date is missing or more than 15 minutes from the server's time.");
    }
    const lines = Object.keys(req.headers)
      .filter((n) => n.startsWith("x-ots-") && n !== "x-ots-signature")
      .sort()
      .map((n) => `${n}:${h(n)?.trim()}`);
    const stringToSign = `/${operation}\nPOST\n\n${lines.join("\n")}\n`;
    const expected = createHmac("sha1", credential.accessKeySecret).update(stringToSign).digest();
    const given = Buffer.from(h("x-ots-signature") ?? "", "base64");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new OtsError(403, "OTSAuthFailed", "Signature mismatch.");
    }
  }

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
      authenticate(req, operation, body);
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
    close: loopback.close,
  };
}
