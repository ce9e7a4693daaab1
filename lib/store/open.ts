/** The store named by RELAY_STORE. */
import type { Config } from "../config.js";
import type { CredentialsProvider } from "../quanmiao/credentials.js";
import type { Store } from "./store.js";

export async function openStore(
  config: Pick<Config, "store" | "tablestore">,
  credentials: CredentialsProvider,
): Promise<Store> {
  // Each store is loaded only when used: the FC bundles leave better-sqlite3 out.
  if (config.store.kind === "sqlite") {
    const { SqliteStore } = await import("./sqlite.js");
    return new SqliteStore(config.store.path);
  }
  const { TablestoreStore } = await import("./tablestore.js");
  const { endpoint, instance, dueShards } = config.tablestore;
  if (!endpoint || !instance)
    throw new Error("RELAY_STORE=tablestore needs TABLESTORE_ENDPOINT and TABLESTORE_INSTANCE");
  return new TablestoreStore({ endpoint, instance, credentials, dueShards });
}
