/**
 * Standard Webhooks headers for one attempt. Signing uses the `standardwebhooks` package itself,
 * so what receivers verify with that package is exactly what was signed. Each attempt is signed
 * afresh with the current time; during a secret rotation every valid secret adds a signature.
 */
import { Webhook } from "standardwebhooks";
import { USER_AGENT } from "../version.js";

/** Headers a webhook's custom headers may not override. */
const RESERVED = new Set([
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "content-type",
  "content-length",
  "host",
  "user-agent",
  "connection",
  "traceparent",
]);

const signers = new Map<string, Webhook>();

function signer(secret: string): Webhook {
  let webhook = signers.get(secret);
  if (!webhook) {
    webhook = new Webhook(secret);
    // Bounded: secrets are few, but a long-lived process should not grow without limit.
    if (signers.size > 1000) signers.clear();
    signers.set(secret, webhook);
  }
  return webhook;
}

export function signatureHeader(secrets: readonly string[], msgId: string, nowMs: number, body: string): string {
  const at = new Date(nowMs);
  return secrets.map((secret) => signer(secret).sign(msgId, at, body)).join(" ");
}

export function webhookHeaders(input: {
  readonly msgId: string;
  readonly secrets: readonly string[];
  readonly nowMs: number;
  readonly body: string;
  readonly custom?: Readonly<Record<string, string>>;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.custom ?? {})) {
    if (!RESERVED.has(name.toLowerCase())) headers[name] = value;
  }
  return {
    ...headers,
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": input.msgId,
    "webhook-timestamp": String(Math.floor(input.nowMs / 1000)),
    "webhook-signature": signatureHeader(input.secrets, input.msgId, input.nowMs, input.body),
  };
}

export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}
