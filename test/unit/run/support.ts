/**
 * The run phases on their own: an in-memory SQLite store, a stub API client that answers from a
 * script (and counts its calls), a fake clock, and the run context a real run would build.
 */
import { onTestFinished } from "vitest";
import { type Env, loadConfig } from "../../../lib/config.js";
import type { AttemptResult, WebhookSender } from "../../../lib/delivery/send.js";
import type { ConfigResult, QuanmiaoClient } from "../../../lib/quanmiao/client.js";
import { type JsonObject, type ParsedTask, parseTaskData } from "../../../lib/quanmiao/task.js";
import { type RunContext, runContext, type TickDeps } from "../../../lib/run/context.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { registerTask } from "../../../lib/tasks.js";
import { FakeClock } from "../../support/fake-clock.js";

export type Answer = JsonObject | Error;

/** A client that answers GetVideoAnalysisTask from `answers` (by task id) and GetVideoAnalysisConfig from `config`. */
export function stubClient(answers: Record<string, Answer>, config: (ws: string) => number | Error = () => 2) {
  const calls: string[] = [];
  const client: QuanmiaoClient = {
    async getTask(workspaceId, taskId): Promise<ParsedTask> {
      calls.push(`getTask ${workspaceId}/${taskId}`);
      const answer = answers[taskId];
      if (answer === undefined) throw new Error(`no scripted answer for ${taskId}`);
      if (answer instanceof Error) throw answer;
      return parseTaskData({ taskId, ...answer });
    },
    async getConfig(workspaceId): Promise<ConfigResult> {
      calls.push(`getConfig ${workspaceId}`);
      const n = config(workspaceId);
      if (n instanceof Error) throw n;
      return { asyncConcurrency: n, raw: { asyncConcurrency: n }, requestId: undefined };
    },
    submitTask: async () => {
      throw new Error("not scripted");
    },
    close: async () => {},
  };
  return { client, calls };
}

/** A sender that answers every POST with `status` and records what it was asked to send. */
export function stubSender(status = 200) {
  const sent: Array<{ url: string; headers: Readonly<Record<string, string>>; body: string }> = [];
  const sender = {
    async send(attempt: { target: { url: URL }; headers: Readonly<Record<string, string>>; body: string }) {
      sent.push({ url: attempt.target.url.href, headers: attempt.headers, body: attempt.body });
      const result: AttemptResult = {
        statusCode: status,
        error: undefined,
        connectionError: false,
        excerpt: "ok",
        retryAfterMs: undefined,
        durationMs: 1,
      };
      return result;
    },
    close: async () => {},
  } as unknown as WebhookSender;
  return { sender, sent };
}

export function phases(options: { answers?: Record<string, Answer>; env?: Env; budgetMs?: number } = {}) {
  const clock = new FakeClock();
  const store = new SqliteStore(":memory:");
  onTestFinished(() => store.close());
  const { client, calls } = stubClient(options.answers ?? {});
  const { sender, sent } = stubSender();
  const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "true", RELAY_API_QPS: "1000", ...options.env });
  const deps: TickDeps = {
    store,
    client,
    config,
    clock,
    sleep: clock.sleep,
    random: () => 0.5,
    sender,
    owner: "test-run",
  };
  const run: RunContext = runContext(deps, options.budgetMs ?? 50_000);
  const register = (workspaceId: string, taskId: string, extra: { webhooks?: string[] } = {}) =>
    registerTask({ store, clock, poll: config.poll, allowPrivateTargets: true }, { workspaceId, taskId, ...extra });
  return { clock, store, client, calls, sender, sent, config, deps, run, register };
}
