/**
 * The SDK client and the few operations the store is built from, each with the store's own bounded
 * retry (the SDK retries reads only, and gives up after three tries) and an HTTP timeout. Writes
 * report a failed condition as `false`, never as an error: that is how claims lose races.
 */
import TableStoreSdk, { type AttributeValue, type Client, type Pk } from "tablestore";
import type { Credentials, CredentialsProvider } from "../../quanmiao/credentials.js";
import { type Attrs, attrsOf } from "./codecs.js";
import { type IndexEntry, IndexWrites } from "./index-writes.js";

// A static import, so that the FC bundles carry the SDK (CommonJS: the default import is its exports).
export const TS = TableStoreSdk;

const MAX_TRIES = 6;
export const { IGNORE, EXPECT_EXIST, EXPECT_NOT_EXIST } = TS.RowExistenceExpectation;
const CT = TS.ComparatorType;

export const condition = (existence: number, column: unknown = null) => new TS.Condition(existence, column);
export const eq = (column: string, value: AttributeValue) =>
  new TS.SingleColumnCondition(column, value, CT.EQUAL, false, true);
export const atMost = (column: string, value: AttributeValue) =>
  new TS.SingleColumnCondition(column, value, CT.LESS_EQUAL, false, true);
export function all(...conditions: unknown[]) {
  const c = new TS.CompositeCondition(TS.LogicalOperator.AND);
  for (const x of conditions) c.addSubCondition(x);
  return c;
}

/** Columns to PUT: undefined means "clear it" (DELETE_ALL). */
export function changes(values: Record<string, AttributeValue | undefined>): Array<Record<string, unknown>> {
  const put: Array<Record<string, AttributeValue>> = [];
  const clear: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) clear.push(k);
    else put.push({ [k]: v });
  }
  return [...(put.length ? [{ PUT: put }] : []), ...(clear.length ? [{ DELETE_ALL: clear }] : [])];
}

/** Columns of a new row; undefined ones are left out. */
export function putColumns(values: Iterable<[string, unknown]>): Array<Record<string, AttributeValue>> {
  const out: Array<Record<string, AttributeValue>> = [];
  for (const [k, v] of values) if (v !== undefined) out.push({ [k]: v as AttributeValue });
  return out;
}

function isConditionFail(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === 403 && String(e.message).includes("OTSConditionCheckFail");
}

function isRetryable(error: unknown): boolean {
  const e = error as { code?: unknown };
  if (typeof e?.code === "number") return e.code === 409 || e.code >= 500;
  return true; // network errors carry string codes (ECONNRESET, …) or none
}

export interface TablestoreStoreOptions {
  readonly endpoint: string;
  readonly instance: string;
  readonly credentials: CredentialsProvider;
  readonly timeoutMs?: number;
  /** Waits between retries; injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** How many shards the due indexes are spread over (see shards.ts); only ever raise it. */
  readonly dueShards?: number | undefined;
  /** Where this process starts its round of the shards. */
  readonly random?: (() => number) | undefined;
}

type Table = { readonly name: string };

export class TablestoreClient {
  private client: Client | undefined;
  private clientFor: string | undefined;

  /** Index entries, batched across this process's concurrent work (see index-writes.ts). */
  private readonly indexes: IndexWrites;

  constructor(private readonly options: TablestoreStoreOptions) {
    this.indexes = new IndexWrites({
      batch: (entries) => this.writeIndexes(entries),
      single: (entry) => this.writeIndex(entry),
    });
  }

  /** One SDK client per credential set: on FC the STS credentials rotate between invocations. */
  async sdk(): Promise<Client> {
    const c: Credentials = await this.options.credentials();
    const key = `${c.accessKeyId}\u0000${c.securityToken ?? ""}`;
    if (!this.client || this.clientFor !== key) {
      this.client = new TS.Client({
        endpoint: this.options.endpoint,
        instancename: this.options.instance,
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.accessKeySecret,
        ...(c.securityToken ? { stsToken: c.securityToken } : {}),
        maxRetries: 3,
        httpOptions: { timeout: this.options.timeoutMs ?? 10_000, maxSockets: 32 },
      });
      this.clientFor = key;
    }
    return this.client;
  }

  forget(): void {
    this.client = undefined;
  }

  /**
   * The store's own bounded retry (503, 409, 5xx, network), with back-off. Writes need it (the SDK
   * retries reads only); reads get it too, since the SDK gives up after three tries and one read
   * that fails ends a run — which long-lived runs, reading far more often, made a real risk.
   */
  async retrying<T>(op: (client: Client) => Promise<T>): Promise<T> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        return await op(await this.sdk());
      } catch (error) {
        if (isConditionFail(error) || attempt >= MAX_TRIES || !isRetryable(error)) throw error;
        await sleep(Math.min(1_000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  /** A write with the bounded retry; false when its condition failed. */
  async write(op: (client: Client) => Promise<unknown>): Promise<boolean> {
    try {
      await this.retrying(op);
      return true;
    } catch (error) {
      if (isConditionFail(error)) return false;
      throw error;
    }
  }

  async get(table: Table, pk: Pk, columnsToGet?: string[]): Promise<Attrs | undefined> {
    const { row } = await this.retrying((client) =>
      client.getRow({
        tableName: table.name,
        primaryKey: pk,
        maxVersions: 1,
        ...(columnsToGet ? { columnsToGet } : {}),
      }),
    );
    return attrsOf(row);
  }

  /** Rows by key, in the keys' order (undefined where there is none), 100 per request. */
  async batchGet(table: Table, pks: Pk[]): Promise<Array<Attrs | undefined>> {
    const out: Array<Attrs | undefined> = [];
    for (let i = 0; i < pks.length; i += 100) {
      const slice = pks.slice(i, i + 100);
      const result = await this.retrying((client) =>
        client.batchGetRow({ tables: [{ tableName: table.name, primaryKey: slice, maxVersions: 1 }] }),
      );
      for (const r of result.tables[0] ?? []) {
        if (!r.isOk) throw new Error(`BatchGetRow failed: ${r.errorCode} ${r.errorMessage}`);
        out.push(attrsOf(r));
      }
    }
    return out;
  }

  /** Rows of a key range in order, `limit` at most, following nextStartPrimaryKey. */
  async range(table: Table, start: Pk, end: Pk, limit: number): Promise<Attrs[]> {
    const rows: Attrs[] = [];
    let next: Pk | null = start;
    while (next && rows.length < limit) {
      const from: Pk = next;
      const r = await this.retrying((client) =>
        client.getRange({
          tableName: table.name,
          direction: TS.Direction.FORWARD,
          inclusiveStartPrimaryKey: from,
          exclusiveEndPrimaryKey: end,
          limit: Math.min(5_000, limit - rows.length),
          maxVersions: 1,
        }),
      );
      for (const row of r.rows) {
        const a = attrsOf(row);
        if (a) rows.push(a);
      }
      next = r.nextStartPrimaryKey ? r.nextStartPrimaryKey.map((c) => ({ [c.name]: c.value })) : null;
    }
    return rows;
  }

  async deleteRow(table: Table, pk: Pk): Promise<void> {
    await this.write((c) => c.deleteRow({ tableName: table.name, condition: condition(IGNORE), primaryKey: pk }));
  }

  /** An index entry: its key is all it says. Batched with the others of this turn. */
  putIndex(table: Table, pk: Pk): Promise<void> {
    return this.indexes.put(table.name, pk);
  }

  /** Index entries, in several tables: the same batch carries them all. */
  async putIndexes(entries: ReadonlyArray<{ readonly table: Table; readonly pk: Pk }>): Promise<void> {
    await Promise.all(entries.map((e) => this.indexes.put(e.table.name, e.pk)));
  }

  /** Drops an index entry (batched like puts). */
  deleteIndex(table: Table, pk: Pk): Promise<void> {
    return this.indexes.remove(table.name, pk);
  }

  private async writeIndexes(entries: readonly IndexEntry[]): Promise<boolean[]> {
    const tables = new Map<string, Array<{ entry: number; row: Record<string, unknown> }>>();
    for (const [i, e] of entries.entries()) {
      const rows = tables.get(e.table) ?? [];
      rows.push({ entry: i, row: indexRow(e) });
      tables.set(e.table, rows);
    }
    let outcome: Array<{ isOk: boolean }> = [];
    await this.write(async (c) => {
      outcome = (
        await c.batchWriteRow({
          tables: [...tables].map(([tableName, rows]) => ({ tableName, rows: rows.map((r) => r.row) })),
        })
      ).tables;
    });
    // The answer lists the rows table by table, in the order they were sent.
    const written = entries.map(() => false);
    for (const [i, sent] of [...tables.values()].flat().entries()) written[sent.entry] = outcome[i]?.isOk === true;
    return written;
  }

  private async writeIndex(e: IndexEntry): Promise<void> {
    const row = { tableName: e.table, condition: condition(IGNORE), primaryKey: e.pk };
    await this.write((c) =>
      e.op === "PUT" ? c.putRow({ ...row, attributeColumns: [{ _: true }] }) : c.deleteRow(row),
    );
  }

  /** BatchWriteRow, 200 rows a request; rows that failed for a retryable reason are written one by one. */
  async batchWrite(tableName: string, rows: Array<Record<string, unknown>>): Promise<boolean[]> {
    const results: boolean[] = [];
    for (let i = 0; i < rows.length; i += 200) {
      const slice = rows.slice(i, i + 200);
      let outcome: Array<{ isOk: boolean; errorCode?: string | null }> = [];
      await this.write(async (c) => {
        outcome = (await c.batchWriteRow({ tables: [{ tableName, rows: slice }] })).tables;
      });
      for (const [j, r] of outcome.entries()) {
        if (r.isOk || r.errorCode === "OTSConditionCheckFail") {
          results.push(r.isOk);
          continue;
        }
        const row = slice[j] as { type: string; primaryKey: Pk; attributeColumns: unknown; condition: unknown };
        results.push(
          await this.write((c) =>
            row.type === "PUT"
              ? c.putRow({
                  tableName,
                  condition: row.condition,
                  primaryKey: row.primaryKey,
                  attributeColumns: row.attributeColumns,
                })
              : c.deleteRow({ tableName, condition: row.condition, primaryKey: row.primaryKey }),
          ),
        );
      }
    }
    return results;
  }
}

function indexRow(e: IndexEntry): Record<string, unknown> {
  return e.op === "PUT"
    ? { type: "PUT", condition: condition(IGNORE), primaryKey: e.pk, attributeColumns: [{ _: true }] }
    : { type: "DELETE", condition: condition(IGNORE), primaryKey: e.pk };
}
