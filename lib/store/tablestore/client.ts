/**
 * The Tablestore client (wire/ots-client.ts) and the few operations the store is built from, each
 * with the store's own bounded retry and the client's timeout. Writes report a failed condition as
 * `false`, never as an error: that is how claims lose races.
 */
import { RelayError } from "../../errors.js";
import type { CredentialsProvider } from "../../quanmiao/credentials.js";
import { type Attrs, attrsOf } from "./codecs.js";
import { indexDelete, indexPut, type RowWrite, RowWrites } from "./row-writes.js";
import {
  type ColumnCondition,
  type Comparator,
  type Condition,
  EXPECT_EXIST,
  EXPECT_NOT_EXIST,
  IGNORE,
  type RowChange,
  type RowExistence,
  type UpdateColumns,
} from "./wire/messages.js";
import { OtsClient, TablestoreError } from "./wire/ots-client.js";
import type { AttributeValue, Pk } from "./wire/values.js";

export { EXPECT_EXIST, EXPECT_NOT_EXIST, IGNORE };

// Back-off 50 ms, 100 ms, … capped at 1 s: about 3.5 s of a busy partition before a call gives up.
const MAX_TRIES = 8;

/** Rows smaller than this share the turn's BatchWriteRow (its limit is 4 MB for up to 200 rows). */
const BATCHED_PUT_BYTES = 256 * 1024;

export const condition = (existence: RowExistence, column?: ColumnCondition): Condition => ({ existence, column });
const single = (column: string, comparator: Comparator, value: AttributeValue): ColumnCondition => ({
  kind: "single",
  column,
  comparator,
  value,
  passIfMissing: true,
});
export const eq = (column: string, value: AttributeValue) => single(column, "EQUAL", value);
export const atMost = (column: string, value: AttributeValue) => single(column, "LESS_EQUAL", value);
export const all = (...conditions: ColumnCondition[]): ColumnCondition => ({
  kind: "composite",
  operator: "AND",
  conditions,
});

/** Columns to PUT: undefined means "clear it" (DELETE_ALL). */
export function changes(values: Record<string, AttributeValue | undefined>): UpdateColumns {
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
  return error instanceof TablestoreError && error.code === "OTSConditionCheckFail";
}

function isRetryable(error: unknown): boolean {
  // Not one of ours (a credentials provider's own failure, say): worth another try.
  return error instanceof RelayError ? error.retryable : true;
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
  private client: OtsClient | undefined;

  /** Small writes, batched across this process's concurrent work (see row-writes.ts). */
  private readonly rows: RowWrites;

  constructor(private readonly options: TablestoreStoreOptions) {
    this.rows = new RowWrites({ batch: (writes) => this.writeBatch(writes), single: (w) => this.writeAlone(w) });
  }

  /** One client (one connection pool) for the store's life; it asks for credentials per request. */
  ots(): OtsClient {
    this.client ??= new OtsClient({
      endpoint: this.options.endpoint,
      instance: this.options.instance,
      credentials: this.options.credentials,
      timeoutMs: this.options.timeoutMs ?? 10_000,
    });
    return this.client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  /**
   * The store's own bounded retry (503, 409, 5xx, network), with back-off, for reads and writes
   * alike: one read that fails ends a run, which long-lived runs, reading often, made a real risk.
   */
  async retrying<T>(op: (client: OtsClient) => Promise<T>): Promise<T> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        return await op(this.ots());
      } catch (error) {
        if (isConditionFail(error) || attempt >= MAX_TRIES || !isRetryable(error)) throw error;
        await sleep(Math.min(1_000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  /** A write with the bounded retry; false when its condition failed. */
  async write(op: (client: OtsClient) => Promise<unknown>): Promise<boolean> {
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
      client.getRow({ tableName: table.name, primaryKey: pk, ...(columnsToGet ? { columnsToGet } : {}) }),
    );
    return attrsOf(row);
  }

  /** Rows by key, in the keys' order (undefined where there is none), 100 per request. */
  async batchGet(table: Table, pks: Pk[]): Promise<Array<Attrs | undefined>> {
    const out: Array<Attrs | undefined> = [];
    for (let i = 0; i < pks.length; i += 100) {
      const slice = pks.slice(i, i + 100);
      const rows = await this.retrying(async (client) => {
        const result = await client.batchGetRow({ tables: [{ tableName: table.name, primaryKey: slice }] });
        const failed = result.tables[0]?.find((r) => !r.isOk);
        // A row's own failure (a busy partition) is worth another try of the whole read.
        if (failed)
          throw new TablestoreError("BatchGetRow", undefined, failed.errorCode, failed.errorMessage ?? "a row failed");
        return result.tables[0] ?? [];
      });
      for (const r of rows) out.push(attrsOf(r));
    }
    return out;
  }

  /**
   * Rows of a key range in order, `limit` at most, following nextStartPrimaryKey; `backward` reads
   * from `start` (inclusive) down to `end` (exclusive, the smaller key).
   */
  async range(table: Table, start: Pk, end: Pk, limit: number, backward = false): Promise<Attrs[]> {
    const rows: Attrs[] = [];
    let next: Pk | null = start;
    while (next && rows.length < limit) {
      const from: Pk = next;
      const r = await this.retrying((client) =>
        client.getRange({
          tableName: table.name,
          inclusiveStartPrimaryKey: from,
          exclusiveEndPrimaryKey: end,
          limit: Math.min(5_000, limit - rows.length),
          backward,
        }),
      );
      for (const row of r.rows) {
        const a = attrsOf(row);
        if (a) rows.push(a);
      }
      next = r.nextStartPrimaryKey;
    }
    return rows;
  }

  async deleteRow(table: Table, pk: Pk): Promise<void> {
    await this.write((c) => c.deleteRow({ tableName: table.name, condition: condition(IGNORE), primaryKey: pk }));
  }

  /** An index entry: its key is all it says. Batched with the other writes of this turn. */
  async putIndex(table: Table, pk: Pk): Promise<void> {
    await this.rows.write(table.name, indexPut(pk));
  }

  /** Index entries, in several tables: the same batch carries them all. */
  async putIndexes(entries: ReadonlyArray<{ readonly table: Table; readonly pk: Pk }>): Promise<void> {
    await Promise.all(entries.map((e) => this.rows.write(e.table.name, indexPut(e.pk))));
  }

  /** Drops an index entry (batched like puts). */
  async deleteIndex(table: Table, pk: Pk): Promise<void> {
    await this.rows.write(table.name, indexDelete(pk));
  }

  /** A conditional UpdateRow, batched with the other writes of this turn; false when its condition failed. */
  update(p: { tableName: string; condition: Condition; primaryKey: Pk; updateOfAttributeColumns: UpdateColumns }) {
    const { tableName, ...change } = p;
    return this.rows.write(tableName, { type: "UPDATE", ...change });
  }

  /**
   * A conditional PutRow; false when its condition failed. A row under BATCHED_PUT_BYTES joins the
   * other writes of this turn; a larger one (an event with a big result) goes alone, unordered with
   * batched writes of the same row — so it suits rows written once, as events are.
   */
  put(
    p: {
      tableName: string;
      condition: Condition;
      primaryKey: Pk;
      attributeColumns: Array<Record<string, AttributeValue>>;
    },
    bytes: number,
  ): Promise<boolean> {
    const { tableName, ...change } = p;
    if (bytes < BATCHED_PUT_BYTES) return this.rows.write(tableName, { type: "PUT", ...change });
    return this.write((c) => c.putRow(p));
  }

  /** Small rows (no event bodies), batched with the other writes of this turn; false where a condition failed. */
  batchWrite(tableName: string, rows: RowChange[]): Promise<boolean[]> {
    return Promise.all(rows.map((r) => this.rows.write(tableName, r)));
  }

  private async writeBatch(writes: readonly RowWrite[]): Promise<Array<boolean | undefined>> {
    const tables = new Map<string, Array<{ at: number; change: RowChange }>>();
    for (const [at, w] of writes.entries()) {
      const rows = tables.get(w.table) ?? [];
      rows.push({ at, change: w.change });
      tables.set(w.table, rows);
    }
    let outcome: Array<{ isOk: boolean; errorCode?: string | undefined }> = [];
    await this.write(async (c) => {
      outcome = (
        await c.batchWriteRow({
          tables: [...tables].map(([tableName, rows]) => ({ tableName, rows: rows.map((r) => r.change) })),
        })
      ).tables;
    });
    // The answer lists the rows table by table, in the order they were sent.
    const written: Array<boolean | undefined> = writes.map(() => undefined);
    for (const [i, sent] of [...tables.values()].flat().entries()) {
      const r = outcome[i];
      written[sent.at] = r?.isOk ? true : r?.errorCode === "OTSConditionCheckFail" ? false : undefined;
    }
    return written;
  }

  private writeAlone({ table: tableName, change }: RowWrite): Promise<boolean> {
    return this.write((c) =>
      change.type === "PUT"
        ? c.putRow({ tableName, ...change })
        : change.type === "UPDATE"
          ? c.updateRow({ tableName, ...change })
          : c.deleteRow({ tableName, ...change }),
    );
  }
}
