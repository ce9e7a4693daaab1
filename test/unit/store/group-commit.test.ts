import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { CommitError, GroupCommit } from "../../../lib/store/sqlite/group-commit.js";
import { tempDir } from "../../support/relay.js";

/** A WAL database file with a writer (grouping its writes, flushed by hand) and a second connection. */
function open() {
  const path = join(tempDir(), "group.db");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec(`CREATE TABLE parent (id TEXT PRIMARY KEY);
    CREATE TABLE t (id TEXT PRIMARY KEY,
      parent TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);`);
  db.pragma("foreign_keys = ON");
  const other = new Database(path);
  onTestFinished(() => {
    db.close();
    other.close();
  });
  const flushes: Array<() => void> = [];
  const group = new GroupCommit(db, (flush) => flushes.push(flush));
  const insert = (id: string, parent: string | null = null) =>
    group.write(() => db.prepare("INSERT INTO t (id, parent) VALUES (?, ?)").run(id, parent).changes);
  const seen = () => (other.prepare("SELECT id FROM t ORDER BY id").all() as Array<{ id: string }>).map((r) => r.id);
  const settled = <T>(p: Promise<T>) =>
    p.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  return { db, group, insert, seen, flushes, settled };
}

describe("group commit", () => {
  it("commits a turn's writes in one transaction, and settles them only once committed", async () => {
    const { insert, seen, flushes, settled } = open();
    let done = 0;
    const writes = ["a", "b", "c"].map((id) => insert(id).then(() => done++));
    expect(flushes).toHaveLength(1);
    await Promise.resolve();
    expect(done).toBe(0);
    expect(seen()).toEqual([]);
    flushes[0]?.();
    await Promise.all(writes.map(settled));
    expect(done).toBe(3);
    expect(seen()).toEqual(["a", "b", "c"]);
  });

  it.each([
    {
      kind: "a write of two statements, the second failing (undone by its savepoint)",
      failing: (group: GroupCommit, db: Database.Database) =>
        group.write(() => {
          db.prepare("INSERT INTO t (id) VALUES ('x')").run();
          db.prepare("INSERT INTO t (id) VALUES ('a')").run();
        }),
    },
    {
      kind: "a one-statement write failing on its third row (no savepoint: SQLite backs the statement out)",
      failing: (group: GroupCommit, db: Database.Database) =>
        group.writeOne(() => db.prepare("INSERT INTO t (id) VALUES ('x'), ('y'), ('a')").run()),
    },
  ])("$kind leaves no trace; the rest of the group commits", async ({ failing }) => {
    const { db, group, insert, seen, flushes, settled } = open();
    const first = insert("a");
    const failed = failing(group, db);
    const last = group.writeOne(() => db.prepare("INSERT INTO t (id) VALUES ('b')").run());
    flushes[0]?.();
    const [a, f, b] = await Promise.all([first, failed, last].map((p) => settled(p as Promise<unknown>)));
    expect(a?.ok && b?.ok).toBe(true);
    expect(f?.ok).toBe(false);
    expect(String((f as { error: unknown }).error)).toMatch(/UNIQUE/);
    expect(seen()).toEqual(["a", "b"]);
  });

  it("when the commit fails, every write of the group is told so, nothing is kept, and the next group works", async () => {
    const { insert, seen, flushes, settled } = open();
    // A deferred foreign key is checked at COMMIT: a real commit failure.
    const group = [insert("a"), insert("orphan", "no-such-parent")];
    flushes[0]?.();
    const results = await Promise.all(group.map(settled));
    for (const r of results) {
      expect(r.ok).toBe(false);
      const error = (r as { error: unknown }).error;
      expect(error).toBeInstanceOf(CommitError);
      expect((error as CommitError).retryable).toBe(true);
      expect(String((error as CommitError).cause)).toMatch(/FOREIGN KEY/);
    }
    expect(seen()).toEqual([]);

    const next = insert("c");
    expect(flushes).toHaveLength(2);
    flushes[1]?.();
    await next;
    expect(seen()).toEqual(["c"]);
  });

  it("with the default schedule, writes from one turn share a commit and are visible after it", async () => {
    const { db, seen } = open();
    const group = new GroupCommit(db);
    const writes = ["a", "b"].map((id) => group.write(() => db.prepare("INSERT INTO t (id) VALUES (?)").run(id)));
    expect(db.inTransaction).toBe(true);
    await Promise.all(writes);
    expect(db.inTransaction).toBe(false);
    expect(seen()).toEqual(["a", "b"]);
  });
});
