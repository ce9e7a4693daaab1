/**
 * Workspace rows as registrations read them, kept a few seconds. Under load every registration
 * reads its workspace (is it new? what is its concurrency?), and on Tablestore that is a request
 * each; what a registration decides from the row (poll at once or later) tolerates a few seconds'
 * staleness, since the planner moves tasks forward when their workspace has room. A workspace not
 * found is not kept: its row is about to be created, and must be read as it then is.
 */
import type { Store, WorkspaceRow } from "./store/store.js";

export const RECENT_WORKSPACE_MS = 10_000;

export class RecentWorkspaces {
  private readonly rows = new Map<string, { readonly row: WorkspaceRow; readonly readAtMs: number }>();

  constructor(
    private readonly maxAgeMs = RECENT_WORKSPACE_MS,
    private readonly capacity = 1_000,
  ) {}

  async get(store: Store, workspaceId: string, nowMs: number): Promise<WorkspaceRow | undefined> {
    const cached = this.rows.get(workspaceId);
    if (cached && nowMs - cached.readAtMs < this.maxAgeMs) return cached.row;
    const row = await store.getWorkspace(workspaceId);
    this.rows.delete(workspaceId);
    if (row) {
      if (this.rows.size >= this.capacity) {
        const oldest = this.rows.keys().next();
        if (!oldest.done) this.rows.delete(oldest.value);
      }
      this.rows.set(workspaceId, { row, readAtMs: nowMs });
    }
    return row;
  }
}
