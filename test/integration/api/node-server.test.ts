/** The node:http server's own bounds, with a handler that answers everything at once. */
import { once } from "node:events";
import { connect } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { json } from "../../../lib/api/http.js";
import { serveApi, splitTarget } from "../../../lib/api/node-server.js";

describe("the API's node:http server", () => {
  it("ends a request whose body trickles past the request timeout with 408, freeing its connection", async () => {
    const server = await serveApi(async () => json(200, {}), { port: 0, host: "127.0.0.1", requestTimeoutMs: 400 });
    onTestFinished(() => server.close());
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
    let got = "";
    socket.on("data", (d) => {
      got += d;
    });
    await once(socket, "connect");
    socket.write("POST /v1/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{");
    const trickle = setInterval(() => socket.write(" "), 50);
    const started = performance.now();
    await once(socket, "close");
    clearInterval(trickle);
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
    // Found within a check interval (a quarter of the timeout) of it, not node's 30 s.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("splits a request target into path and query by hand, as a URL parser would, without throwing", () => {
    expect(splitTarget("//[")).toEqual({ path: "//[", search: "" });
    expect(splitTarget("/v1/tasks?limit=5#frag?x")).toEqual({ path: "/v1/tasks", search: "limit=5" });
    expect(splitTarget("/a?")).toEqual({ path: "/a", search: "" });
    expect(splitTarget("/a#b")).toEqual({ path: "/a#b", search: "" });
  });
});
