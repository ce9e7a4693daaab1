/**
 * What the service checks of every request before it reads the body: the content MD5, the
 * instance, the AccessKey and its STS token, the date, and the HMAC-SHA1 signature over the
 * x-ots-* headers. A failure is the service's own error (403 OTSAuthFailed, 400 for the MD5).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Clock } from "../../lib/clock.js";
import { OtsError } from "./tables.js";

export interface EmulatorCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
}

export function authenticate(
  req: IncomingMessage,
  operation: string,
  body: Buffer,
  expect: { instanceName: string; credentials: ReadonlyMap<string, EmulatorCredential>; clock: Clock },
): void {
  const { instanceName, credentials, clock } = expect;
  const h = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const md5 = createHash("md5").update(body).digest("base64");
  if (h("x-ots-contentmd5") !== md5)
    throw new OtsError(400, "OTSParameterInvalid", "x-ots-contentmd5 does not match the body.");
  if (h("x-ots-instancename") !== instanceName) {
    throw new OtsError(
      403,
      "OTSAuthFailed",
      `The instance '${h("x-ots-instancename")}' does not exist or is not yours.`,
    );
  }
  const credential = credentials.get(h("x-ots-accesskeyid") ?? "");
  if (!credential) throw new OtsError(403, "OTSAuthFailed", "The AccessKeyID does not exist.");
  if ((credential.securityToken ?? undefined) !== (h("x-ots-ststoken") ?? undefined)) {
    throw new OtsError(403, "OTSAuthFailed", "The STS token does not match the AccessKey.");
  }
  const date = Date.parse(h("x-ots-date") ?? "");
  if (!Number.isFinite(date) || Math.abs(date - clock.now()) > 15 * 60_000) {
    throw new OtsError(403, "OTSAuthFailed", "x-ots-date is missing or more than 15 minutes from the server's time.");
  }
  const lines = Object.keys(req.headers)
    .filter((n) => n.startsWith("x-ots-") && n !== "x-ots-signature")
    .sort()
    .map((n) => `${n}:${h(n)?.trim()}`);
  const stringToSign = `/${operation}\nPOST\n\n${lines.join("\n")}\n`;
  const expected = createHmac("sha1", credential.accessKeySecret).update(stringToSign).digest();
  const given = Buffer.from(h("x-ots-signature") ?? "", "base64");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new OtsError(403, "OTSAuthFailed", "Signature mismatch.");
  }
}
