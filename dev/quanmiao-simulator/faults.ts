/** Faults the simulator injects on matching requests: the failures the client must survive. */
import type { ActionName } from "../../lib/quanmiao/actions.js";

export type Fault =
  /** Delay the answer (adds up with other faults). */
  | { readonly kind: "latency"; readonly ms: number }
  /** HTTP 429 `Throttling.User`, with x-acs-retry-after when given. */
  | { readonly kind: "throttle"; readonly retryAfterMs?: number }
  | { readonly kind: "serverError"; readonly status?: 500 | 502 | 503 }
  /** HTTP 200 whose body is not JSON. */
  | { readonly kind: "malformed" }
  /** Headers promise the whole body; half of it arrives, then the connection closes. */
  | { readonly kind: "truncated" }
  /** The connection closes without an answer. */
  | { readonly kind: "drop" }
  | { readonly kind: "noPermission" }
  | { readonly kind: "notFound" };

export interface FaultRule {
  readonly fault: Fault;
  readonly action?: ActionName;
  readonly workspaceId?: string;
  readonly taskId?: string;
  /** How many matching requests it hits; unlimited when absent. */
  readonly times?: number;
}

export interface RequestFacts {
  readonly action: ActionName;
  readonly workspaceId: string;
  readonly taskId: string | undefined;
}

export class FaultPlan {
  private rules: Array<{ rule: FaultRule; left: number }> = [];

  inject(rule: FaultRule): void {
    this.rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.rules = [];
  }

  /** The total latency to add, and the first failure that applies, consuming one use of each. */
  take(facts: RequestFacts): { latencyMs: number; failure: Fault | undefined } {
    let latencyMs = 0;
    let failure: Fault | undefined;
    for (const entry of this.rules) {
      const { rule } = entry;
      if (entry.left <= 0) continue;
      if (rule.action && rule.action !== facts.action) continue;
      if (rule.workspaceId && rule.workspaceId !== facts.workspaceId) continue;
      if (rule.taskId && rule.taskId !== facts.taskId) continue;
      if (rule.fault.kind === "latency") latencyMs += rule.fault.ms;
      else if (failure) continue;
      else failure = rule.fault;
      entry.left--;
    }
    this.rules = this.rules.filter((e) => e.left > 0);
    return { latencyMs, failure };
  }
}
