/** The fuzz's two ways in: a request over node:http as sent on the wire, and a query as FC's event decodes it. */
import { request as httpRequest } from "node:http";
import type { ApiResponse } from "../../lib/api/http.js";

/** A request target node:http will send: anything else percent-encoded, a lone surrogate as the bytes CESU-8 gives it. */
const sendable = (target: string) =>
  target.replace(/[^\x21-\x7e]/gu, (c) =>
    /\p{Cs}/u.test(c) ? "%ED%A0%80" : Buffer.from(c).toString("hex").replace(/../g, "%$&"),
  );

export function overHttp(
  url: string,
  method: string,
  target: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    // Framed explicitly: node:http sends a GET's body unframed, which the server reads as a second request.
    const framed = { ...headers, "content-length": String(body.length) };
    const req = httpRequest({ host: hostname, port, method, path: sendable(target), headers: framed }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: {}, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The query as FC's event gives it, decoded; by hand, since URLSearchParams would already have
 * turned a lone surrogate into U+FFFD. An escape that is not UTF-8 stays as it was sent.
 */
export function fcQuery(search: string): Record<string, string> {
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, " "));
    } catch {
      return text;
    }
  };
  return Object.fromEntries(
    search
      .split("&")
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf("=");
        return at < 0 ? [decode(pair), ""] : [decode(pair.slice(0, at)), decode(pair.slice(at + 1))];
      }),
  );
}
