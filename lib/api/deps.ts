import type { Clock } from "../clock.js";
import type { Config } from "../config.js";
import type { WebhookSender } from "../delivery/send.js";
import type { Log } from "../log.js";
import type { PrometheusMetrics } from "../prometheus.js";
import type { QuanmiaoClient } from "../quanmiao/client.js";
import type { Store } from "../store/store.js";
import type { RegistrationDeps } from "../tasks.js";

/** What the HTTP API needs; a running relay (relay.ts) has all of it. */
export interface ApiDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly registration: RegistrationDeps;
  readonly client: QuanmiaoClient;
  readonly sender: WebhookSender;
  readonly config: Config;
  /** Counters of this process's runs, when it has any (npm start); GET /metrics works without. */
  readonly metrics?: PrometheusMetrics | undefined;
  /**
   * Reads a submitted video's duration from its header (POST /v1/tasks/submit without a hint);
   * default: over HTTP through the SSRF guard (lib/video/read-duration.ts).
   */
  readonly videoDuration?: ((url: string) => Promise<number | undefined>) | undefined;
  /** The operator's log: what a caller is not told (a refused target's address) goes here. */
  readonly log?: Log | undefined;
}
