/** The store named by RELAY_STORE. */
import type { StoreConfig } from "../config.js";
import { SqliteStore } from "./sqlite.js";
import type { Store } from "./store.js";

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === "sqlite") return new SqliteStore(config.path);
  throw new Error("RELAY_STORE=tablestore is not available in this version yet; use sqlite:<path>");
}
