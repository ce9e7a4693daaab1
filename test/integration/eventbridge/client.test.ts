/** The PutEvents client against hand-written answers: what it sends, and how it reads what comes back. */
import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, it, onTestFinished } from "vitest";
import { listenOnLoopback } from "../../../dev/loopback.js";
import { createEventBridgePublisher, defaultEndpoint } from "../../../lib/eventbridge/client.js";
import { staticCredentials } from "../../../lib/quanmiao/credentials.js";
import { FakeClock } from "../../support/fake-clock.js";

const AT = { region: "cn-hangzhou", accountId: "123" };

async function server(answer: (res: import("node:http").ServerResponse) => void) {
  const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
  const s = await listenOnLoopback((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      answer(res);
    });
  });
  onTestFinished(() => s.close());
  return { url: s.url, seen };
}

function publisher(url: string, timeoutMs = 2_000, securityToken?: string) {
  const clock = new FakeClock();
  const p = createEventBridgePublisher({
    credentials: staticCredentials({ accessKeyId: "AK", accessKeySecret: "SK", securityToken }),
    clock,
    timeoutMs,
    endpoint: () => url,
    nonce: () => "nonce-1",
  });
  onTestFinished(() => p.close());
  return { p, clock };
}

describe("the PutEvents client", () => {
  it("sends the SDK's request: path, headers, the body as given, and an acs: authorization", async () => {
    const s = await server((res) => res.writeHead(200).end(JSON.stringify({ RequestId: "r", EntryList: [{}] })));
    const { p, clock } = publisher(s.url, 2_000, "tok");
    const answer = await p.putEvents(AT, '[{"id":"a"}]');
    expect(answer).toMatchObject({ kind: "answered", statusCode: 200, requestId: "r" });
    const [req] = s.seen;
    expect(req).toMatchObject({ method: "POST", url: "/openapi/putEvents", body: '[{"id":"a"}]' });
    expect(req?.headers).toMatchObject({
      host: new URL(s.url).host,
      date: new Date(clock.now()).toUTCString(),
      accept: "application/json",
      "content-type": "application/cloudevents-batch+json; charset=utf-8",
      "x-acs-signature-nonce": "nonce-1",
      "x-acs-signature-method": "HMAC-SHA1",
      "x-acs-signature-version": "1.0",
      "x-eventbridge-version": "2015-06-06",
      "x-acs-accesskey-id": "AK",
      "x-acs-security-token": "tok",
    });
    expect(req?.headers.authorization).toMatch(/^acs:AK:[A-Za-z0-9+/]{27}=$/);
    expect(defaultEndpoint(AT)).toBe("https://123.eventbridge.cn-hangzhou.aliyuncs.com");
  });

  it("reads a refusal's code and Retry-After, a gateway's page by its status, and a 200 without entries as malformed", async () => {
    const answers = [
      (res: import("node:http").ServerResponse) =>
        res
          .writeHead(429, { "retry-after": "3" })
          .end(JSON.stringify({ code: "TooManyRequests", message: "slow down", requestId: "q" })),
      (res: import("node:http").ServerResponse) => res.writeHead(502).end("<html>bad gateway</html>"),
      (res: import("node:http").ServerResponse) => res.writeHead(200).end("{}"),
    ];
    const s = await server((res) => answers.shift()?.(res));
    const { p } = publisher(s.url);
    expect(await p.putEvents(AT, "[]")).toMatchObject({
      kind: "refused",
      statusCode: 429,
      code: "TooManyRequests",
      message: "slow down",
      requestId: "q",
      retryAfterMs: 3_000,
    });
    expect(await p.putEvents(AT, "[]")).toMatchObject({
      kind: "refused",
      statusCode: 502,
      code: "HTTP502",
      excerpt: "<html>bad gateway</html>",
    });
    expect(await p.putEvents(AT, "[]")).toMatchObject({ kind: "refused", statusCode: 200, code: "MalformedAnswer" });
  });

  it("says a request nobody answered timed out, and a closed port refused the connection", async () => {
    const s = await server(() => {});
    const { p } = publisher(s.url, 200);
    expect(await p.putEvents(AT, "[]")).toMatchObject({ kind: "failed", failure: "timeout" });
    const closed = await listenOnLoopback(() => {});
    const port = closed.url;
    await closed.close();
    const { p: q } = publisher(port);
    expect(await q.putEvents(AT, "[]")).toMatchObject({ kind: "failed", failure: "connection" });
  });

  it("a credentials provider that throws fails the request without sending it", async () => {
    const s = await server((res) => res.writeHead(200).end("{}"));
    const p = createEventBridgePublisher({
      credentials: () => {
        throw new Error("no key");
      },
      clock: new FakeClock(),
      timeoutMs: 1_000,
      endpoint: () => s.url,
    });
    expect(await p.putEvents(AT, "[]")).toMatchObject({
      kind: "failed",
      failure: "other",
      error: "EventBridge request not made: Error: no key",
    });
    expect(s.seen).toEqual([]);
  });
});
