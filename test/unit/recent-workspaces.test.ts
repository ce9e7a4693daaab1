import { describe, expect, it, onTestFinished } from "vitest";
import { RECENT_WORKSPACE_MS, RecentWorkspaces } from "../../lib/recent-workspaces.js";
import { SqliteStore } from "../../lib/store/sqlite.js";

function counted() {
  const store = new SqliteStore(":memory:");
  onTestFinished(() => store.close());
  let reads = 0;
  const read = store.getWorkspace.bind(store);
  store.getWorkspace = async (id) => {
    reads++;
    return read(id);
  };
  const workspace = (workspaceId: string, asyncConcurrency: number) =>
    store.putWorkspace({
      workspaceId,
      asyncConcurrency,
      concurrencyFetchedAtMs: 0,
      backoffUntilMs: 0,
      authFailures: 0,
      lastError: undefined,
    });
  return { store, reads: () => reads, workspace };
}

describe("recent workspaces", () => {
  it("reads a workspace once within its age, and again after", async () => {
    const { store, reads, workspace } = counted();
    await workspace("w", 4);
    const recent = new RecentWorkspaces();
    expect((await recent.get(store, "w", 0))?.asyncConcurrency).toBe(4);
    await workspace("w", 8);
    expect((await recent.get(store, "w", RECENT_WORKSPACE_MS - 1))?.asyncConcurrency).toBe(4);
    expect(reads()).toBe(1);
    expect((await recent.get(store, "w", RECENT_WORKSPACE_MS))?.asyncConcurrency).toBe(8);
    expect(reads()).toBe(2);
  });

  it("does not keep a workspace it did not find (its row is about to be created)", async () => {
    const { store, reads, workspace } = counted();
    const recent = new RecentWorkspaces();
    expect(await recent.get(store, "new", 0)).toBeUndefined();
    await workspace("new", 2);
    expect((await recent.get(store, "new", 1))?.asyncConcurrency).toBe(2);
    expect(reads()).toBe(2);
  });

  it("keeps at most its capacity, forgetting the oldest", async () => {
    const { store, reads, workspace } = counted();
    for (const id of ["a", "b", "c"]) await workspace(id, 1);
    const recent = new RecentWorkspaces(RECENT_WORKSPACE_MS, 2);
    for (const id of ["a", "b", "c"]) await recent.get(store, id, 0);
    await recent.get(store, "c", 1);
    await recent.get(store, "a", 1);
    expect(reads()).toBe(4);
  });
});
