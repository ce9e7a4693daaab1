/**
 * The SQLite store holds every signing secret in clear: what the relay creates is the owner's
 * alone, whatever the umask, and a store that others can already read is reported at start.
 */
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../lib/config.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { openStore } from "../../../lib/store/open.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { tempDir } from "../../support/relay.js";

const mode = (path: string) => statSync(path).mode & 0o777;
const credentials = staticCredentials({ accessKeyId: "id", accessKeySecret: "secret" });

async function open(path: string) {
  const logged: Array<Record<string, unknown>> = [];
  const store = await openStore(loadConfig({ RELAY_STORE: `sqlite:${path}` }), credentials, (e) => logged.push(e));
  return { store, logged };
}

describe("the SQLite store's file modes", () => {
  it("creates its folders 0700 and the database, -wal and -shm 0600, even under umask 0", async () => {
    const root = tempDir();
    chmodSync(root, 0o750);
    const folder = join(root, "state", "relay");
    const path = join(folder, "relay.db");
    // The relay must not rely on the umask: with none at all, mkdir and open would give 0777 and 0666.
    const umask = process.umask(0);
    try {
      const store = new SqliteStore(path);
      await store.registerTask({ workspaceId: "w", taskId: "t" }, 0);
      expect(existsSync(`${path}-wal`)).toBe(true);
      expect(existsSync(`${path}-shm`)).toBe(true);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect([file, mode(file)]).toEqual([file, 0o600]);
      for (const dir of [folder, join(root, "state")]) expect([dir, mode(dir)]).toEqual([dir, 0o700]);
      await store.close();
    } finally {
      process.umask(umask);
    }
    // A folder it did not create keeps its mode.
    expect(mode(root)).toBe(0o750);
  });

  it("opens a store others cannot read without a word", async () => {
    const path = join(tempDir(), "private", "relay.db");
    (await open(path)).store.close();
    const again = await open(path);
    await again.store.close();
    expect(again.logged.filter((e) => e.level === "warn")).toEqual([]);
  });

  it("leaves an existing store's modes alone and warns about each file and the folder others may read", async () => {
    const folder = join(tempDir(), "shared");
    const path = join(folder, "relay.db");
    const first = await open(path);
    await first.store.close();
    chmodSync(folder, 0o755);
    chmodSync(path, 0o644);
    writeFileSync(`${path}-journal`, "");
    chmodSync(`${path}-journal`, 0o640);
    mkdirSync(join(folder, "unrelated"), { mode: 0o777 });

    const { store, logged } = await open(path);
    await store.close();
    const warnings = logged.filter((e) => e.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/readable by other users/);
    expect(warnings[0]?.files).toEqual([`${folder} (0755)`, `${path} (0644)`, `${path}-journal (0640)`]);
    expect(mode(path)).toBe(0o644);
    expect(mode(folder)).toBe(0o755);
  });
});
