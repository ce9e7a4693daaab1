/**
 * The small records on Tablestore, without indexes: webhooks (subscriptions), workspaces (what the
 * relay learned of each) and settings (compare-and-set values: signing secrets, learned run times).
 */

import type { WebhookRow, WorkspaceRow } from "../store.js";
import { condition, EXPECT_EXIST, EXPECT_NOT_EXIST, eq, IGNORE, putColumns, type TablestoreClient } from "./client.js";
import { attributesOf, read, strOf, WEBHOOK, WORKSPACE } from "./codecs.js";
import { TABLES } from "./schema.js";
import type { RowExistence } from "./wire/messages.js";
import { INF_MAX, INF_MIN } from "./wire/values.js";

/** Every webhook and workspace fits one range read: there are tens, not thousands. */
const ALL = 100_000;

export class WebhookTable {
  constructor(private readonly db: TablestoreClient) {}

  async create(w: WebhookRow): Promise<void> {
    if (!(await this.put(w, EXPECT_NOT_EXIST))) throw new Error(`a webhook with id ${w.id} already exists`);
  }

  // A put replaces every column, so cleared fields are cleared.
  update(w: WebhookRow): Promise<boolean> {
    return this.put(w, EXPECT_EXIST);
  }

  private put(w: WebhookRow, existence: RowExistence): Promise<boolean> {
    return this.db.write((c) =>
      c.putRow({
        tableName: TABLES.webhooks.name,
        condition: condition(existence),
        primaryKey: [{ id: w.id }],
        attributeColumns: putColumns(attributesOf(WEBHOOK, w, ["id"])),
      }),
    );
  }

  async get(id: string): Promise<WebhookRow | undefined> {
    const a = await this.db.get(TABLES.webhooks, [{ id }]);
    return a ? read(WEBHOOK, a) : undefined;
  }

  async list(): Promise<WebhookRow[]> {
    const rows = await this.db.range(TABLES.webhooks, [{ id: INF_MIN }], [{ id: INF_MAX }], ALL);
    return rows.map((a) => read(WEBHOOK, a)).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  delete(id: string): Promise<boolean> {
    return this.db.write((c) =>
      c.deleteRow({ tableName: TABLES.webhooks.name, condition: condition(EXPECT_EXIST), primaryKey: [{ id }] }),
    );
  }
}

export class WorkspaceTable {
  constructor(private readonly db: TablestoreClient) {}

  async get(workspaceId: string): Promise<WorkspaceRow | undefined> {
    const a = await this.db.get(TABLES.workspaces, [{ ws: workspaceId }]);
    return a ? read(WORKSPACE, a) : undefined;
  }

  async list(): Promise<WorkspaceRow[]> {
    const rows = await this.db.range(TABLES.workspaces, [{ ws: INF_MIN }], [{ ws: INF_MAX }], ALL);
    return rows.map((a) => read(WORKSPACE, a));
  }

  async put(w: WorkspaceRow): Promise<void> {
    await this.db.write((c) =>
      c.putRow({
        tableName: TABLES.workspaces.name,
        condition: condition(IGNORE),
        primaryKey: [{ ws: w.workspaceId }],
        attributeColumns: putColumns(attributesOf(WORKSPACE, w, ["workspaceId"])),
      }),
    );
  }
}

export class SettingTable {
  constructor(private readonly db: TablestoreClient) {}

  async get(key: string): Promise<string | undefined> {
    return strOf((await this.db.get(TABLES.settings, [{ key }]))?.value);
  }

  compareAndSet(key: string, expected: string | undefined, value: string): Promise<boolean> {
    return this.db.write((c) =>
      expected === undefined
        ? c.putRow({
            tableName: TABLES.settings.name,
            condition: condition(EXPECT_NOT_EXIST),
            primaryKey: [{ key }],
            attributeColumns: [{ value }],
          })
        : c.updateRow({
            tableName: TABLES.settings.name,
            condition: condition(EXPECT_EXIST, eq("value", expected)),
            primaryKey: [{ key }],
            updateOfAttributeColumns: [{ PUT: [{ value }] }],
          }),
    );
  }

  async list(fromKey: string, toKey: string, limit: number): Promise<Array<{ key: string; value: string }>> {
    if (!(fromKey < toKey)) return [];
    const rows = await this.db.range(TABLES.settings, [{ key: fromKey }], [{ key: toKey }], limit);
    return rows.map((a) => ({ key: String(a.key), value: strOf(a.value) ?? "" }));
  }

  delete(key: string, expected: string): Promise<boolean> {
    return this.db.write((c) =>
      c.deleteRow({
        tableName: TABLES.settings.name,
        condition: condition(EXPECT_EXIST, eq("value", expected)),
        primaryKey: [{ key }],
      }),
    );
  }
}
