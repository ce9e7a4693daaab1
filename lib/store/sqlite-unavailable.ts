/**
 * Stands in for sqlite.ts in the FC bundles (scripts/bundle.mjs swaps it in): FC instances have no
 * durable disk and the bundles leave better-sqlite3 out, so the store there is Tablestore.
 */
export class SqliteStore {
  constructor() {
    throw new Error(
      "the FC bundles have no SQLite store: set RELAY_STORE=tablestore with TABLESTORE_ENDPOINT and TABLESTORE_INSTANCE",
    );
  }
}
