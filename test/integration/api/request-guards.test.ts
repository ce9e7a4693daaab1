/** The bearer scheme read case-insensitively (RFC 7235), without anything else loosening. */
import { describe, expect, it } from "vitest";
import { apiHarness, TOKEN } from "../../support/api.js";

const PROTECTED: Array<[string, string]> = [
  ["GET", "/metrics"],
  ["GET", "/v1/tasks"],
  ["POST", "/v1/tasks"],
  ["POST", "/v1/tasks/submit"],
  ["GET", "/v1/tasks/w/t"],
  ["DELETE", "/v1/tasks/w/t"],
  ["GET", "/v1/webhooks"],
  ["POST", "/v1/webhooks"],
  ["GET", "/v1/webhooks/wh_x"],
  ["PATCH", "/v1/webhooks/wh_x"],
  ["DELETE", "/v1/webhooks/wh_x"],
  ["POST", "/v1/webhooks/wh_x/rotate-secret"],
  ["POST", "/v1/webhooks/wh_x/test"],
  ["GET", "/v1/deliveries"],
  ["GET", "/v1/deliveries/d"],
  ["POST", "/v1/deliveries/d/replay"],
  ["GET", "/v1/events"],
];

describe.each(["node", "fc"] as const)("the bearer scheme through %s", (via) => {
  it("is read in any case; the token, its one space and every protected route are as strict as before", async () => {
    const h = await apiHarness();
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      const ok = await h.call(via, {
        method: "GET",
        path: "/v1/webhooks",
        auth: false,
        headers: { authorization: `${scheme} ${TOKEN}` },
      });
      expect(ok.status, scheme).toBe(200);
    }
    const refused = [
      undefined,
      `bearer ${TOKEN.toUpperCase()}`,
      `bearer ${TOKEN}x`,
      `bearer  ${TOKEN}`,
      `Basic ${TOKEN}`,
      `Bearer${TOKEN}`,
      TOKEN,
    ];
    for (const [method, path] of PROTECTED) {
      for (const authorization of refused) {
        const answer = await h.call(via, {
          method,
          path,
          auth: false,
          headers: authorization === undefined ? {} : { authorization },
        });
        expect(answer.status, `${method} ${path} with ${authorization}`).toBe(401);
      }
    }
  });
});
