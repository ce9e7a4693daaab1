/** Events on Tablestore: the event row (its body in chunks) and the per-task index of event ids. */

import { decodeCursor, encodeCursor } from "../cursor.js";
import type { EventRow, Page } from "../store.js";
import { condition, EXPECT_NOT_EXIST, putColumns, type TablestoreClient } from "./client.js";
import { type Attrs, EVENT, keys, long, numOf, read, SHARD, strOf } from "./codecs.js";
import { newestPage, rowsAtTime } from "./newest.js";
import { TABLES } from "./schema.js";
import { INF_MAX, INF_MIN, type Pk } from "./wire/values.js";

/** A column holds at most 2 MB; a body is split in chunks below that. */
const CHUNK = 1_500_000;

function toEvent(a: Attrs): EventRow {
  const n = numOf(a.chunks) ?? 1;
  let body = "";
  for (let i = 0; i < n; i++) body += strOf(a[`body_${i}`]) ?? "";
  return { ...read(EVENT, a), body };
}

export class EventTable {
  constructor(private readonly db: TablestoreClient) {}

  async create(e: EventRow): Promise<{ event: EventRow; created: boolean }> {
    await this.db.putIndexes([
      { table: TABLES.taskEvents, pk: [{ ws: e.workspaceId }, { task: e.taskId }, { event_id: e.id }] },
      { table: TABLES.eventTime, pk: keys.eventTime(e.createdAtMs, e.id) },
    ]);
    const chunks: Record<string, string> = {};
    for (let i = 0, n = 0; i < e.body.length || n === 0; i += CHUNK, n++)
      chunks[`body_${n}`] = e.body.slice(i, i + CHUNK);
    const created = await this.db.put(
      {
        tableName: TABLES.events.name,
        condition: condition(EXPECT_NOT_EXIST),
        primaryKey: [{ id: e.id }],
        attributeColumns: putColumns(
          Object.entries({
            type: e.type,
            ws: e.workspaceId,
            task: e.taskId,
            created_at: long(e.createdAtMs),
            chunks: long(Object.keys(chunks).length),
            ...chunks,
          }),
        ),
      },
      // UTF-8 takes at most three bytes for each UTF-16 unit.
      e.body.length * 3,
    );
    if (created) return { event: e, created: true };
    const stored = await this.get(e.id);
    if (!stored) throw new Error(`event ${e.id} was neither created nor found`);
    return { event: stored, created: false };
  }

  /**
   * In creation order, through the time index. An entry without its event (a creator that crashed,
   * or the loser of a create race, whose time differs) is passed over.
   */
  async list(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<Page<EventRow>> {
    const after = decodeCursor(filter.cursor, 2);
    const start: Pk = after
      ? [{ shard: SHARD }, { created_at: long(Number(after[0])) }, { id: `${after[1]}\u0000` }]
      : [{ shard: SHARD }, { created_at: long(filter.sinceMs ?? 0) }, { id: INF_MIN }];
    const end: Pk = [{ shard: SHARD }, { created_at: INF_MAX }, { id: INF_MAX }];
    const items: EventRow[] = [];
    let from = start;
    let more = true;
    while (items.length <= filter.limit && more) {
      const entries = await this.db.range(TABLES.eventTime, from, end, filter.limit + 1);
      more = entries.length === filter.limit + 1;
      const rows = await this.db.batchGet(
        TABLES.events,
        entries.map((r) => [{ id: String(r.id) }]),
      );
      for (const [i, a] of rows.entries()) {
        const at = numOf(entries[i]?.created_at);
        if (a && at !== undefined && numOf(a.created_at) === at && at >= (filter.sinceMs ?? 0)) items.push(toEvent(a));
      }
      const last = entries[entries.length - 1];
      if (last)
        from = [
          { shard: SHARD },
          { created_at: long(numOf(last.created_at) ?? 0) },
          { id: `${String(last.id)}\u0000` },
        ];
    }
    const page = items.slice(0, filter.limit);
    const tail = page[page.length - 1];
    return {
      items: page,
      cursor: items.length > filter.limit && tail ? encodeCursor([String(tail.createdAtMs), tail.id]) : undefined,
    };
  }

  /** Newest first, through the same time index. */
  recent(filter: { limit: number; sinceMs?: number; cursor?: string }): Promise<Page<EventRow>> {
    return newestPage(
      this.db,
      {
        table: TABLES.eventTime,
        prefix: [{ shard: SHARD }],
        time: "created_at",
        rest: ["id"],
        rows: (entries) =>
          rowsAtTime(this.db, TABLES.events, entries, (e) => [{ id: String(e.id) }], "created_at", toEvent),
        matches: () => true,
      },
      filter,
    );
  }

  async get(id: string): Promise<EventRow | undefined> {
    const a = await this.db.get(TABLES.events, [{ id }]);
    return a ? toEvent(a) : undefined;
  }

  async listForTask(workspaceId: string, taskId: string): Promise<EventRow[]> {
    const index = await this.db.range(
      TABLES.taskEvents,
      [{ ws: workspaceId }, { task: taskId }, { event_id: INF_MIN }],
      [{ ws: workspaceId }, { task: taskId }, { event_id: INF_MAX }],
      1_000,
    );
    const rows = await this.db.batchGet(
      TABLES.events,
      index.map((r) => [{ id: String(r.event_id) }]),
    );
    return rows
      .filter((a): a is Attrs => a !== undefined)
      .map(toEvent)
      .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }
}
