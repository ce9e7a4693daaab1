/**
 * What an API caller learns when the SSRF guard refuses a webhook URL: the kind of address a name
 * resolves to, never the address (which would map the network's DNS for them); the operator's log
 * gets the address. A fake resolver stands in for DNS; nothing is sent anywhere.
 */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { createApi } from "../../../lib/api/app.js";
import type { ApiRequest } from "../../../lib/api/http.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import type { ResolvedAddress } from "../../../lib/delivery/guard.js";
import { createQuanmiaoClient } from "../../../lib/quanmiao/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { answeringSender, TOKEN } from "../../support/api.js";
import { tempDir } from "../../support/relay.js";

function harness() {
  const store = new SqliteStore(join(tempDir(), "refused.db"));
  // Never called: registration does not use the Quanmiao API, and the port is closed.
  const client = createQuanmiaoClient({
    endpoint: "http://127.0.0.1:9",
    credentials: staticCredentials({ accessKeyId: "id", accessKeySecret: "secret" }),
  });
  onTestFinished(async () => {
    await client.close();
    await store.close();
  });
  const answers = new Map<string, ResolvedAddress>();
  const resolve = async (host: string) => {
    // A name whose DNS never answers, as a resolver past its retries looks from here.
    if (host === "silent.test") return new Promise<never>(() => {});
    const found = answers.get(host);
    if (!found) throw new Error(`ENOTFOUND ${host}`);
    return [found];
  };
  const { sender, sent } = answeringSender();
  const logged: Array<Record<string, unknown>> = [];
  const log = (entry: Record<string, unknown>) => logged.push(entry);
  const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "false" });
  const registration = {
    store,
    clock: systemClock,
    poll: config.poll,
    allowPrivateTargets: false,
    resolve,
    lookupTimeoutMs: 50,
  };
  const handle = createApi(
    { store, clock: systemClock, client, sender, config, registration, log },
    { tokens: [TOKEN], log },
  );
  const call = async (method: string, path: string, body?: unknown) => {
    const request: ApiRequest = {
      method,
      path,
      query: new URLSearchParams(),
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: Buffer.from(body === undefined ? "" : JSON.stringify(body)),
    };
    const answer = await handle(request);
    return { status: answer.status, text: answer.body, json: JSON.parse(answer.body) };
  };
  return { store, answers, call, logged, sent };
}

describe("a refused webhook URL, as API callers see it", () => {
  it("registration answers with the kind of address; the address goes to the operator's log", async () => {
    const h = harness();
    h.answers.set("private.test", { address: "10.0.0.1", family: 4 });
    h.answers.set("mapped.test", { address: "::ffff:0:a00:1", family: 6 });
    for (const host of ["private.test", "mapped.test"]) {
      const url = `http://${host}/hook`;
      const created = await h.call("POST", "/v1/webhooks", { url });
      const task = await h.call("POST", "/v1/tasks", { workspaceId: "llm-a", taskId: "t1", webhooks: [url] });
      for (const answer of [created, task]) {
        expect(answer.status).toBe(422);
        expect(answer.json.error.message).toMatch(new RegExp(`${host} resolves to a private address`));
        expect(answer.text).not.toContain("10.0.0.1");
        expect(answer.text).not.toMatch(/a00:1/);
      }
    }
    expect(h.logged.filter((e) => e.msg === "webhook target refused").map((e) => e.address)).toEqual([
      "10.0.0.1",
      "10.0.0.1",
      "::ffff:0:a00:1",
      "::ffff:0:a00:1",
    ]);
    expect(await h.store.listWebhooks()).toEqual([]);
    // In a batch the refused item is its own result, naming its place; the others are written.
    h.answers.set("hooks.example.test", { address: "93.184.216.34", family: 4 });
    const batch = await h.call("POST", "/v1/tasks", {
      tasks: [
        { workspaceId: "llm-a", taskId: "t2", webhooks: ["http://hooks.example.test/hook"] },
        {
          workspaceId: "llm-a",
          taskId: "t3",
          webhooks: ["http://hooks.example.test/hook", "http://private.test/hook"],
        },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.json.results).toMatchObject([
      { index: 0, created: true },
      { index: 1, error: { code: "refused_target", field: "body.tasks[1].webhooks[1]" } },
    ]);
    expect(batch.text).not.toContain("10.0.0.1");
    expect(await h.store.getTask("llm-a", "t3")).toBeUndefined();
  });

  it("a test send to a name that now resolves inside answers with the kind of address only", async () => {
    const h = harness();
    h.answers.set("hooks.example.test", { address: "93.184.216.34", family: 4 });
    const created = await h.call("POST", "/v1/webhooks", { url: "http://hooks.example.test/hook" });
    expect(created.status).toBe(201);
    h.answers.set("hooks.example.test", { address: "169.254.169.254", family: 4 });

    const tested = await h.call("POST", `/v1/webhooks/${created.json.id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.json.delivered).toBe(false);
    expect(tested.json.error).toMatch(/^refused target: hooks\.example\.test resolves to a link-local address/);
    expect(tested.text).not.toContain("169.254.169.254");
    expect(h.sent).toEqual([]);
    expect(h.logged).toContainEqual(
      expect.objectContaining({ msg: "webhook test refused", address: "169.254.169.254" }),
    );
  });

  it("registration answers a name whose DNS never answers within its lookup timeout, writing nothing", async () => {
    const h = harness();
    h.answers.set("hooks.example.test", { address: "93.184.216.34", family: 4 });
    const created = await h.call("POST", "/v1/webhooks", { url: "http://hooks.example.test/hook" });
    const url = "http://silent.test/hook";
    const answers = [
      await h.call("POST", "/v1/webhooks", { url }),
      await h.call("POST", "/v1/tasks", { workspaceId: "llm-a", taskId: "t1", webhooks: [url] }),
      await h.call("PATCH", `/v1/webhooks/${created.json.id}`, { url }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(422);
      expect(answer.json.error.message).toMatch(/could not resolve silent\.test within 50 ms/);
    }
    expect((await h.store.listWebhooks()).map((w) => w.url)).toEqual(["http://hooks.example.test/hook"]);
    expect(await h.store.getTask("llm-a", "t1")).toBeUndefined();
  });
});
