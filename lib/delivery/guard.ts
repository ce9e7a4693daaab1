/**
 * SSRF guard for webhook targets. The host is resolved here, every address is checked, and the
 * connection is then made to the checked address (see `pinnedLookup`), so a DNS answer that changes
 * between the check and the connect (rebinding) cannot redirect a delivery inside the network.
 *
 * Refused: loopback, private, link-local, CGNAT 100.64.0.0/10 (Alibaba's metadata 100.100.100.200
 * and VPC DNS live there), multicast, broadcast, reserved and documentation ranges, IPv6 ULA and
 * link-local, IPv4-mapped forms of any of these, and the IPv6 ranges that carry IPv4 through a
 * translator or tunnel (IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo) whatever they carry.
 */
import type { LookupAddress } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { RefusedTargetError } from "../errors.js";
import { type ResolvedAddress, SystemLookups } from "./system-lookups.js";

const V4: ReadonlyArray<[string, number, string]> = [
  ["0.0.0.0", 8, "a reserved 'this network' address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a carrier-grade NAT address (Alibaba Cloud's metadata and internal services)"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address (cloud metadata)"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "a reserved address"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.88.99.0", 24, "a reserved relay address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address"],
];

const V6: ReadonlyArray<[string, number, string]> = [
  ["::", 128, "the unspecified address"],
  ["::1", 128, "a loopback address"],
  ["100::", 64, "a discard address"],
  ["2001:2::", 48, "a benchmarking address"],
  // ORCHID (RFC 4843, v2 RFC 7343): identifiers, not locators; never routed.
  ["2001:10::", 28, "a reserved (ORCHID) address"],
  ["2001:20::", 28, "a reserved (ORCHID) address"],
  ["2001:db8::", 32, "a documentation address"],
  ["3fff::", 20, "a documentation address"],
  // Segment-routing SIDs (RFC 9602): they address functions inside an operator's network.
  ["5f00::", 16, "a reserved (SRv6 SID) address"],
  ["fc00::", 7, "a unique-local (private) address"],
  ["fe80::", 10, "a link-local address"],
  ["ff00::", 8, "a multicast address"],
];

const v4Blocks = V4.map(([net, prefix, reason]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, "ipv4");
  return { list, reason };
});
const v6Blocks = V6.map(([net, prefix, reason]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, "ipv6");
  return { list, reason };
});

/** The eight 16-bit groups of an IPv6 address that isIP accepted; a zone id (`%eth0`) is dropped. */
function groups(address: string): number[] {
  const [head = "", tail] = address.replace(/%.*$/, "").split("::");
  const parse = (text: string) =>
    text === ""
      ? []
      : text.split(":").flatMap((part) => {
          if (!part.includes(".")) return [Number.parseInt(part, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = part.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function v4Of(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * IPv6 ranges that carry an IPv4 address. Only the mapped form is judged by the IPv4 address
 * alone: a dual-stack socket connects to exactly that address. The others are refused whole: what
 * they reach depends on a translator or tunnel somewhere on the path, not on the address the guard
 * sees, and SSRF filters commonly refuse them so (ipaddr.js, under request-filtering-agent and
 * ssrf-req-filter, counts 6to4, Teredo, NAT64 and the translated form as not unicast). The IPv4
 * address inside only makes the reason more precise.
 */
const TUNNELS: ReadonlyArray<{
  readonly name: string;
  readonly matches: (g: readonly number[]) => boolean;
  readonly v4: (g: readonly number[]) => string | undefined;
  readonly refusedWhole: boolean;
}> = [
  {
    name: "an IPv4-mapped address",
    matches: (g) => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff,
    v4: (g) => v4Of(g[6] as number, g[7] as number),
    refusedWhole: false,
  },
  {
    // ::/96, deprecated since RFC 4291 (2006); kernels route it in different ways, some to the
    // embedded IPv4 address.
    name: "an IPv4-compatible address (deprecated)",
    matches: (g) => g.slice(0, 6).every((x) => x === 0),
    v4: (g) => v4Of(g[6] as number, g[7] as number),
    refusedWhole: true,
  },
  {
    // ::ffff:0:0:0/96, SIIT's translated form (RFC 2765), not routed on the internet.
    name: "an IPv4-translated address",
    matches: (g) => g.slice(0, 4).every((x) => x === 0) && g[4] === 0xffff && g[5] === 0,
    v4: (g) => v4Of(g[6] as number, g[7] as number),
    refusedWhole: true,
  },
  {
    // 64:ff9b::/96 (RFC 6052) and 64:ff9b:1::/48 (RFC 8215) both lie in 64:ff9b::/32, refused
    // whole as before; only the /96 form puts the IPv4 address in the last 32 bits.
    name: "a NAT64 address",
    matches: (g) => g[0] === 0x64 && g[1] === 0xff9b,
    v4: (g) => (g.slice(2, 6).every((x) => x === 0) ? v4Of(g[6] as number, g[7] as number) : undefined),
    refusedWhole: true,
  },
  {
    name: "a 6to4 address",
    matches: (g) => g[0] === 0x2002,
    v4: (g) => v4Of(g[1] as number, g[2] as number),
    refusedWhole: true,
  },
  {
    // Teredo (RFC 4380) carries the client's IPv4 address with every bit inverted.
    name: "a Teredo address",
    matches: (g) => g[0] === 0x2001 && g[1] === 0,
    v4: (g) => v4Of((g[6] as number) ^ 0xffff, (g[7] as number) ^ 0xffff),
    refusedWhole: true,
  },
];

function v6Reason(address: string): string | undefined {
  const listed = v6Blocks.find((b) => b.list.check(address, "ipv6"))?.reason;
  if (listed) return listed;
  const g = groups(address);
  const tunnel = TUNNELS.find((t) => t.matches(g));
  if (!tunnel) return undefined;
  const inner = tunnel.v4(g);
  const reason = inner === undefined ? undefined : forbiddenReason(inner);
  if (reason) return `${reason}, in IPv6 form`;
  return tunnel.refusedWhole ? tunnel.name : undefined;
}

/** Why an address may not be a webhook target; undefined when it may. */
export function forbiddenReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) {
    if (address === "255.255.255.255") return "the broadcast address";
    return v4Blocks.find((b) => b.list.check(address, "ipv4"))?.reason;
  }
  if (family === 6) return v6Reason(address);
  return "not an IP address";
}

export type { ResolvedAddress };

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * The system resolver, as many of its lookups at once as the process's other work can spare
 * (system-lookups.ts): one per process, as libuv's thread pool is.
 */
export const systemResolver: Resolver = new SystemLookups({
  lookup: async (hostname) =>
    (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
      address: a.address,
      family: a.family as 4 | 6,
    })),
  now: () => performance.now(),
  maxInFlight: Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2)),
}).resolve;

/**
 * A socket `lookup` that answers only with the address the guard checked for a host (`pinned`),
 * so nothing re-resolves the name between check and connect; a host without one fails as ENOTFOUND.
 */
export function pinnedLookup(pinned: (hostname: string) => ResolvedAddress | undefined) {
  return (hostname: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    const address = pinned(hostname.replace(/^\[|\]$/g, ""));
    if (!address) {
      callback(Object.assign(new Error(`no checked address for ${hostname}`), { code: "ENOTFOUND" }));
      return;
    }
    if (opts?.all) callback(null, [address satisfies LookupAddress]);
    else callback(null, address.address, address.family);
  };
}

export interface Target {
  readonly url: URL;
  /** The checked address the connection must use. */
  readonly address: ResolvedAddress;
}

/**
 * The lookup, or a refusal once `ms` have passed: the system resolver has no deadline of its own,
 * and a name whose DNS never answers held an attempt for as long as the resolver's retries took.
 */
function withinMs<T>(lookup: Promise<T>, ms: number | undefined, host: string): Promise<T> {
  if (ms === undefined) return lookup;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RefusedTargetError(`could not resolve ${host} within ${ms} ms`, { kind: "dns" })),
      ms,
    );
  });
  return Promise.race([lookup, late]).finally(() => clearTimeout(timer));
}

/** Parses, resolves and checks a webhook URL; throws RefusedTargetError with the reason. */
export async function checkTarget(
  rawUrl: string,
  options: { allowPrivate: boolean; resolve?: Resolver | undefined; timeoutMs?: number | undefined },
): Promise<Target> {
  // `localhost:3000/hook` parses as scheme "localhost:", and `example.com/hook` not at all: both
  // are a host written without its scheme, which is better said so (listen takes the local form).
  if (/^[a-z0-9.-]+(:\d+)?(\/|$)/i.test(rawUrl))
    throw new RefusedTargetError(`"${rawUrl}" has no scheme: write it as http://${rawUrl} or https://${rawUrl}`, {
      kind: "syntax",
    });
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new RefusedTargetError(`"${rawUrl}" is not a URL`, { kind: "syntax" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RefusedTargetError(`${url.protocol} URLs are not allowed; use http or https`, { kind: "syntax" });
  }
  // Port 0 names no service: nothing can ever answer there.
  if (url.port === "0") throw new RefusedTargetError("port 0 cannot be connected to", { kind: "syntax" });
  if (url.username || url.password) {
    throw new RefusedTargetError("URLs with credentials are not allowed; use a custom header", { kind: "syntax" });
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const literal = isIP(host) !== 0;
  let addresses: ResolvedAddress[];
  if (literal) {
    addresses = [{ address: host, family: isIP(host) as 4 | 6 }];
  } else {
    try {
      addresses = await withinMs((options.resolve ?? systemResolver)(host), options.timeoutMs, host);
    } catch (cause) {
      if (cause instanceof RefusedTargetError) throw cause;
      throw new RefusedTargetError(`could not resolve ${host}`, { kind: "dns", cause });
    }
    if (addresses.length === 0) throw new RefusedTargetError(`${host} has no addresses`, { kind: "dns" });
  }
  if (!options.allowPrivate) {
    // Every address is checked, not only the first: the connection could use any of them.
    for (const a of addresses) {
      const reason = forbiddenReason(a.address);
      if (reason) {
        // The kind of address only: the caller must not learn what a name resolves to inside the
        // network. The address goes to the operator's log with `address`.
        throw new RefusedTargetError(
          `${host} ${literal ? "is" : "resolves to"} ${reason}; set RELAY_ALLOW_PRIVATE_TARGETS=true to allow it`,
          { kind: "policy", address: a.address },
        );
      }
    }
  }
  return { url, address: addresses[0] as ResolvedAddress };
}
