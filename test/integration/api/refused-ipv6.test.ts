/** Webhook URLs with a refused IPv4 address in an IPv6 form, given at every place a URL is taken. */
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { SIM_CREDENTIAL, startSimulator } from "../../../dev/quanmiao-simulator/server.js";
import { createApi } from "../../../lib/api/app.js";
import { systemClock } from "../../../lib/clock.js";
import { loadConfig } from "../../../lib/config.js";
import { createQuanmiaoClient } from "../../../lib/quanmiao/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { SqliteStore } from "../../../lib/store/sqlite.js";
import { answeringSender, TOKEN } from "../../support/api.js";
import { REFUSED_IPV6_URLS } from "../../support/fuzz-inputs.js";
import { tempDir } from "../../support/relay.js";

/** The API over a fresh SQLite store; fuzzed webhook URLs may name public hosts, so no DNS is asked and nothing is sent. */
async function fuzzApi() {
  const sim = await startSimulator({ runMs: 0 });
  const store = new SqliteStore(join(tempDir(), "fuzz.db"));
  const client = createQuanmiaoClient({ endpoint: sim.url, credentials: staticCredentials(SIM_CREDENTIAL) });
  onTestFinished(async () => {
    await client.close();
    await store.close();
    await sim.close();
  });
  const config = loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: "false" });
  const { sender, sent } = answeringSender();
  const resolve = async () => [{ address: "93.184.216.34", family: 4 as const }];
  const handle = createApi(
    {
      store,
      clock: systemClock,
      client,
      sender,
      config,
      registration: { store, clock: systemClock, poll: config.poll, allowPrivateTargets: false, resolve },
    },
    { tokens: [TOKEN] },
  );
  const snapshot = async () =>
    JSON.stringify([
      (await store.listTasks({ limit: 10_000 })).items,
      await store.listWebhooks(),
      (await store.listDeliveries({ limit: 10_000 })).items,
    ]);
  return { handle, store, snapshot, sent };
}

describe("refused IPv6 forms", () => {
  it("a webhook URL with a refused IPv4 address in an IPv6 form is refused with a 4xx wherever it is given", async () => {
    const { handle, snapshot } = await fuzzApi();
    const send = (method: string, path: string, body: unknown) =>
      handle({
        method,
        path,
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: Buffer.from(JSON.stringify(body)),
      });
    const existing = await send("POST", "/v1/webhooks", { url: "https://hooks.example.com/h" });
    expect(existing.status).toBe(201);
    const id = JSON.parse(existing.body).id as string;
    const before = await snapshot();
    for (const url of REFUSED_IPV6_URLS) {
      for (const [method, path, body] of [
        ["POST", "/v1/webhooks", { url }],
        ["PATCH", `/v1/webhooks/${id}`, { url }],
        ["POST", "/v1/tasks", { workspaceId: "llm-a", taskId: "t1", webhooks: [url] }],
      ] as const) {
        const answer = await send(method, path, body);
        expect({ url, method, path, status: answer.status }).toEqual({ url, method, path, status: 422 });
        expect(JSON.parse(answer.body).error.code).toBe("refused_target");
      }
    }
    expect(await snapshot()).toBe(before);
  });
});
