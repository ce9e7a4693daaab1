/**
 * SSRF guard for webhook targets. The host is resolved here, every address is checked, and the
 * connection is then made to the checked address (see `pinnedLookup`), so a DNS answer that changes
 * between the check and the connect (rebinding) cannot redirect a delivery inside the network.
 *
 * Refused: loopback, private, link-local, CGNAT 100.64.0.0/10 (Alibaba's metadata 100.100.100.200
 * and VPC DNS live there), multicast, broadcast, reserved and documentation ranges, IPv6 ULA and
 * link-local, and IPv4 addresses hidden in IPv6 forms (mapped, NAT64, 6to4).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { RefusedTargetError } from "../errors.js";

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
  ["2001:db8::", 32, "a documentation address"],
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

/** The IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4), if any. */
function embeddedV4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::|64:ff9b:1::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = Number.parseInt(hex[1] as string, 16);
    const lo = Number.parseInt(hex[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const hi = Number.parseInt(sixToFour[1] as string, 16);
    const lo = Number.parseInt(sixToFour[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** Why an address may not be a webhook target; undefined when it may. */
export function forbiddenReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) {
    if (address === "255.255.255.255") return "the broadcast address";
    return v4Blocks.find((b) => b.list.check(address, "ipv4"))?.reason;
  }
  if (family === 6) {
    const inner = embeddedV4(address);
    if (inner !== undefined) {
      const reason = forbiddenReason(inner);
      if (reason) return `${reason}, in IPv6 form`;
    }
    if (/^64:ff9b:/i.test(address) || /^2002:/i.test(address)) return "a NAT64 or 6to4 address";
    return v6Blocks.find((b) => b.list.check(address, "ipv6"))?.reason;
  }
  return "not an IP address";
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family as 4 | 6,
  }));

export interface Target {
  readonly url: URL;
  /** The checked address the connection must use. */
  readonly address: ResolvedAddress;
}

/** Parses, resolves and checks a webhook URL; throws RefusedTargetError with the reason. */
export async function checkTarget(
  rawUrl: string,
  options: { allowPrivate: boolean; resolve?: Resolver },
): Promise<Target> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new RefusedTargetError(`"${rawUrl}" is not a URL`, { kind: "syntax" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RefusedTargetError(`${url.protocol} URLs are not allowed; use http or https`, { kind: "syntax" });
  }
  if (url.username || url.password) {
    throw new RefusedTargetError("URLs with credentials are not allowed; use a custom header", { kind: "syntax" });
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) as 4 | 6 }];
  } else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (cause) {
      throw new RefusedTargetError(`could not resolve ${host}`, { kind: "dns", cause });
    }
    if (addresses.length === 0) throw new RefusedTargetError(`${host} has no addresses`, { kind: "dns" });
  }
  if (!options.allowPrivate) {
    // Every address is checked, not only the first: the connection could use any of them.
    for (const a of addresses) {
      const reason = forbiddenReason(a.address);
      if (reason) {
        throw new RefusedTargetError(
          `${host} resolves to ${a.address}, ${reason}; set RELAY_ALLOW_PRIVATE_TARGETS=true to allow it`,
          { kind: "policy" },
        );
      }
    }
  }
  return { url, address: addresses[0] as ResolvedAddress };
}
