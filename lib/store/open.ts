/** The store named by RELAY_STORE. */
import type { Config } from "../config.js";
import type { CredentialsProvider } from "../quanmiao/credentials.js";
import { SqliteStore } from "./sqlite.js";
import type { Store } from "./store.js";

export async function openStore(
  config: Pick<Config, "store" | "tablestore">,
  credentials: CredentialsProvider,
): Promise<Store> {
  if (config.store.kind === "sqlite") return new SqliteStore(config.store.path);
  // Loaded only when used: the FC bundles that use SQLite (or none) need not carry it, and vice versa.
  const { TablestoreStore } = await import("./tablestore.js");
  const { endpoint, instance } = config.tablestore;
  if (!endpoint || !instance)
    throw new Error("RELAY_STORE=tablestore needs TABLESTORE_ENDPOINT and TABLESTORE_INSTANCE");
  return new TablestoreStore({ endpoint, instance, credentials });
}
