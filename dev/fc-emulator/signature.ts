/**
 * Function Compute's request signature ("FC <AccessKeyId>:<signature>"), as the emulator checks it.
 * Written from the documented scheme: HMAC-SHA256, base64, over
 * `METHOD\nContent-MD5\nContent-Type\nDate\n` + each `x-fc-*` header as `name:value\n` (lower case,
 * sorted) + the path. Content-MD5 is the base64 of the body's MD5 written in hex.
 */
import { createHash, createHmac } from "node:crypto";

export function fcContentMd5(body: Buffer): string {
  return Buffer.from(createHash("md5").update(body).digest("hex"), "utf8").toString("base64");
}

export function fcStringToSign(
  method: string,
  path: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v.join(",") : (v ?? "");
  };
  const fcHeaders = Object.keys(headers)
    .map((k) => k.toLowerCase().trim())
    .filter((k) => k.startsWith("x-fc-"))
    .sort()
    .map((k) => `${k}:${one(k)}\n`)
    .join("");
  return `${method}\n${one("content-md5")}\n${one("content-type")}\n${one("date")}\n${fcHeaders}${path}`;
}

export function fcSignature(accessKeySecret: string, stringToSign: string): string {
  return createHmac("sha256", accessKeySecret).update(stringToSign, "utf8").digest("base64");
}
