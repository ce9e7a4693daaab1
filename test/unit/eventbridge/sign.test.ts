/** The relay's EventBridge signer against the SDK's own (`@alicloud/eventbridge-util`) on fixed inputs. */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { authorization, httpDate, signature, stringToSign } from "../../../lib/eventbridge/sign.js";

const require = createRequire(import.meta.url);
const util = require("@alicloud/eventbridge-util").default as {
  getStringToSign(r: { method: string; pathname: string; headers: Record<string, string>; query: object }): string;
  getSignature(text: string, secret: string): string;
};

const base = {
  date: httpDate(Date.UTC(2026, 11, 6, 5, 30, 0)),
  host: "123456.eventbridge.cn-hangzhou.aliyuncs.com",
  accept: "application/json",
  "content-type": "application/cloudevents-batch+json; charset=utf-8",
  "x-acs-signature-nonce": "5f0c1b2a-0000-4000-8000-000000000001",
  "x-acs-signature-method": "HMAC-SHA1",
  "x-acs-signature-version": "1.0",
  "x-eventbridge-version": "2015-06-06",
};

const cases: Array<{ name: string; headers: Record<string, string>; query?: Record<string, string> }> = [
  { name: "an AccessKey", headers: base },
  {
    name: "STS credentials",
    headers: { ...base, "x-acs-accesskey-id": "STS.key", "x-acs-security-token": "tok\twith\nbreaks  " },
  },
  { name: "a query and a content-md5", headers: { ...base, "content-md5": "abc==" }, query: { b: "2", a: "1" } },
  { name: "no content type or date", headers: { host: "h", "x-acs-signature-nonce": "n" } },
];

describe("EventBridge request signature", () => {
  for (const c of cases) {
    it(`matches the SDK's string to sign and signature with ${c.name}`, () => {
      const request = { method: "post", pathname: "/openapi/putEvents", headers: c.headers, query: c.query };
      const oracle = util.getStringToSign({ ...request, query: c.query ?? {} });
      expect(stringToSign(request)).toBe(oracle);
      expect(signature(oracle, "secret/with+chars")).toBe(util.getSignature(oracle, "secret/with+chars"));
      expect(authorization(request, { accessKeyId: "AK", accessKeySecret: "s3cret" })).toBe(
        `acs:AK:${util.getSignature(oracle, "s3cret")}`,
      );
    });
  }

  it("dates in RFC 1123 GMT, as the SDK's date header", () => {
    expect(httpDate(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe("Fri, 02 Jan 2026 03:04:05 GMT");
  });
});
