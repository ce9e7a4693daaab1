/**
 * The simulator's API gateway: checks a request the way Alibaba's gateway does before the product
 * sees it (required x-acs headers, version, date skew, body hash, nonce reuse, AccessKey, STS token,
 * ACS3 signature), and names the failure with the gateway's codes.
 *
 * The canonical request is rebuilt from what arrived on the wire (raw path, decoded query, received
 * header values), so a client that signs one thing and sends another is caught.
 */
import type { IncomingHttpHeaders } from "node:http";
import { API_VERSION } from "../../lib/quanmiao/actions.js";
import { parseAuthorization, sha256Hex, signature } from "../../lib/quanmiao/sign.js";

export interface SimCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Set for an STS credential: requests must carry it in x-acs-security-token. */
  readonly securityToken?: string | undefined;
  readonly expiresAtMs?: number | undefined;
}

export interface Rejection {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export interface ArrivedRequest {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export const MAX_DATE_SKEW_MS = 15 * 60_000;
const REQUIRED = [
  "host",
  "x-acs-action",
  "x-acs-version",
  "x-acs-date",
  "x-acs-signature-nonce",
  "x-acs-content-sha256",
];

function reject(status: number, code: string, message: string): Rejection {
  return { status, code, message };
}

function decodeQuery(raw: string): Record<string, string> | undefined {
  const query: Record<string, string> = {};
  if (raw === "") return query;
  try {
    for (const pair of raw.split("&")) {
      const eq = pair.indexOf("=");
      const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      query[name] = eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1));
    }
  } catch {
    return undefined;
  }
  return query;
}

export class Gateway {
  private readonly credentials = new Map<string, SimCredential>();
  /** nonce → when it may be reused (after the date window has passed). */
  private readonly nonces = new Map<string, number>();

  constructor(credentials: readonly SimCredential[]) {
    for (const c of credentials) this.credentials.set(c.accessKeyId, c);
  }

  addCredential(credential: SimCredential): void {
    this.credentials.set(credential.accessKeyId, credential);
  }

  check(req: ArrivedRequest, expectedAction: string, nowMs: number): Rejection | undefined {
    const h = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(",") : v;
    };
    for (const name of REQUIRED) {
      if (!h(name)) return reject(400, "MissingParameter", `The header ${name} is mandatory for this action.`);
    }
    if (h("x-acs-version") !== API_VERSION) {
      return reject(400, "InvalidVersion", `Specified version ${h("x-acs-version")} is not valid.`);
    }
    if (h("x-acs-action") !== expectedAction) {
      return reject(400, "InvalidAction", `x-acs-action ${h("x-acs-action")} does not match the requested path.`);
    }
    const date = h("x-acs-date") ?? "";
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(date) || Number.isNaN(Date.parse(date))) {
      return reject(400, "InvalidTimeStamp.Format", `Specified time stamp or date value is not well formatted.`);
    }
    if (Math.abs(Date.parse(date) - nowMs) > MAX_DATE_SKEW_MS) {
      return reject(400, "InvalidTimeStamp.Expired", `Specified time stamp or date value is expired.`);
    }
    const payloadHash = h("x-acs-content-sha256") ?? "";
    if (sha256Hex(req.body) !== payloadHash) {
      return reject(400, "InvalidContentSha256", "x-acs-content-sha256 does not match the request body.");
    }
    const auth = parseAuthorization(h("authorization"));
    if (!auth)
      return reject(400, "IncompleteSignature", "The Authorization header is missing or not ACS3-HMAC-SHA256.");
    const credential = this.credentials.get(auth.accessKeyId);
    if (!credential) return reject(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");

    const signed = new Set(auth.signedHeaders);
    const mustSign = [...REQUIRED, ...(req.body.length > 0 ? ["content-type"] : [])];
    if (credential.securityToken) mustSign.push("x-acs-security-token", "x-acs-accesskey-id");
    for (const name of mustSign) {
      if (!signed.has(name)) return reject(400, "IncompleteSignature", `The header ${name} must be signed.`);
    }
    if (credential.securityToken) {
      if (h("x-acs-security-token") !== credential.securityToken) {
        return reject(
          403,
          "InvalidSecurityToken.MismatchWithAccessKey",
          "Specified SecurityToken mismatch with the AccessKey.",
        );
      }
      if (h("x-acs-accesskey-id") !== credential.accessKeyId) {
        return reject(
          403,
          "InvalidSecurityToken.MismatchWithAccessKey",
          "x-acs-accesskey-id does not name the STS AccessKey.",
        );
      }
      if (credential.expiresAtMs !== undefined && nowMs >= credential.expiresAtMs) {
        return reject(403, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.");
      }
    } else if (h("x-acs-security-token")) {
      return reject(403, "InvalidSecurityToken.Malformed", "A SecurityToken was sent with a permanent AccessKey.");
    }

    const query = decodeQuery(req.rawQuery);
    if (!query) return reject(400, "InvalidParameter", "The query string is not valid percent-encoding.");
    const headers: Record<string, string> = {};
    for (const name of signed) headers[name] = h(name) ?? "";
    const expected = signature(
      { method: req.method, pathname: req.rawPath, query, headers, payloadHash },
      credential.accessKeySecret,
    );
    if (expected.signature !== auth.signature) {
      return reject(403, "SignatureDoesNotMatch", "Specified signature does not match our calculation.");
    }

    const nonce = h("x-acs-signature-nonce") ?? "";
    const reusableAt = this.nonces.get(nonce);
    if (reusableAt !== undefined && reusableAt > nowMs) {
      return reject(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    }
    this.nonces.set(nonce, nowMs + 2 * MAX_DATE_SKEW_MS);
    if (this.nonces.size > 100_000) this.pruneNonces(nowMs);
    return undefined;
  }

  private pruneNonces(nowMs: number): void {
    for (const [nonce, until] of this.nonces) if (until <= nowMs) this.nonces.delete(nonce);
  }
}
