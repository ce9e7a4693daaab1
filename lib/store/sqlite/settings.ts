/** Settings on SQLite: small values by key, written only by compare-and-set (see Store). */
import type Database from "better-sqlite3";
import { SQL } from "./queries.js";

type Statement = (sql: string) => Database.Statement;
/** One write statement, committed in its group; resolves to the rows it changed. */
type Changes = (sql: string, ...params: unknown[]) => Promise<number>;

export class SqliteSettings {
  constructor(
    private readonly stmt: Statement,
    private readonly changes: Changes,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const r = this.stmt(SQL.settingByKey).get(key) as { value: unknown } | undefined;
    return r ? String(r.value) : undefined;
  }

  async compareAndSet(key: string, expected: string | undefined, value: string): Promise<boolean> {
    const changed =
      expected === undefined
        ? await this.changes("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, value)
        : await this.changes("UPDATE settings SET value = ? WHERE key = ? AND value = ?", value, key, expected);
    return changed === 1;
  }

  async list(fromKey: string, toKey: string, limit: number): Promise<Array<{ key: string; value: string }>> {
    const rows = this.stmt(SQL.settingsInRange).all(fromKey, toKey, limit) as Array<{ key: unknown; value: unknown }>;
    return rows.map((r) => ({ key: String(r.key), value: String(r.value) }));
  }

  async delete(key: string, expected: string): Promise<boolean> {
    return (await this.changes("DELETE FROM settings WHERE key = ? AND value = ?", key, expected)) === 1;
  }
}
