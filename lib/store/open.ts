/** The store named by RELAY_STORE. */
import type { Config } from "../config.js";
import type { Log } from "../log.js";
import type { CredentialsProvider } from "../quanmiao/credentials.js";
import { exposedStorePaths } from "./sqlite/permissions.js";
import type { Store } from "./store.js";

export async function openStore(
  config: Pick<Config, "store" | "tablestore">,
  credentials: CredentialsProvider,
  log?: Log,
): Promise<Store> {
  // Each store is loaded only when used: the FC bundles leave better-sqlite3 out.
  if (config.store.kind === "sqlite") {
    const { path } = config.store;
    // Checked before opening: what SQLite is about to create is private, what is there is not ours to change.
    const exposed = path === ":memory:" ? [] : exposedStorePaths(path);
    if (exposed.length > 0)
      log?.({
        level: "warn",
        msg: "the store is readable by other users: it holds every webhook signing secret; chmod 700 its folder and 600 its files",
        files: exposed.map((e) => `${e.path} (${e.mode})`),
      });
    const { SqliteStore } = await import("./sqlite.js");
    return new SqliteStore(path);
  }
  const { TablestoreStore } = await import("./tablestore.js");
  const { endpoint, instance, dueShards } = config.tablestore;
  if (!endpoint || !instance)
    throw new Error("RELAY_STORE=tablestore needs TABLESTORE_ENDPOINT and TABLESTORE_INSTANCE");
  return new TablestoreStore({ endpoint, instance, credentials, dueShards });
}
