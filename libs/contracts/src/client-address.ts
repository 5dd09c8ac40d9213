/**
 * The client address of a request that reached the edge through proxies — one rule for the
 * mirror agent, which keys every request (and so every vote and decision) by it, and the node
 * agent, which looks decisions up by it: were they to differ, a decision would miss its client.
 * Forwarding headers (X-Forwarded-For, Forwarded, X-Real-IP) are believed only when the peer is
 * a configured trusted proxy, and X-Forwarded-For / Forwarded chains are read from the right,
 * skipping trusted hops, so a client cannot choose its address by sending the headers itself
 * (nginx's realip module with `real_ip_recursive on` reads them the same way).
 */
import ipaddr from 'ipaddr.js';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Addr, number];

/** A request's headers by lower-case name: a Map, or Node's IncomingHttpHeaders. */
export type ForwardingHeaders =
  ReadonlyMap<string, string> | Readonly<Record<string, string | string[] | undefined>>;

function headerText(headers: ForwardingHeaders, name: string): string | undefined {
  const value: unknown =
    headers instanceof Map
      ? (headers as ReadonlyMap<string, string>).get(name)
      : (headers as Readonly<Record<string, unknown>>)[name];
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' ? value : undefined;
}

/**
 * Parses an address strictly: dotted-quad IPv4 (not `1` or octal `010.0.0.1`, which ipaddr.js
 * would also accept) or IPv6 (a zone index is dropped); IPv4-mapped IPv6 becomes IPv4.
 */
export function parseAddress(text: string): Addr | undefined {
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (!bare.includes(':')) {
    return ipaddr.IPv4.isValidFourPartDecimal(bare) ? ipaddr.IPv4.parse(bare) : undefined;
  }
  if (!ipaddr.IPv6.isValid(bare)) return undefined;
  const addr = ipaddr.IPv6.parse(bare);
  return addr.isIPv4MappedAddress() ? addr.toIPv4Address() : addr;
}

/**
 * Parses a dotted-quad IPv4 address to an unsigned 32-bit integer, or -1: strictly (no leading
 * zeros, each part ≤ 255 — the set ipaddr.js's isValidFourPartDecimal accepts), by hand and
 * without building an object, as the mirror and node agents check an address per request.
 */
export function parseIPv4(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros: 010 would be octal to some parsers and decimal to others.
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Recently canonicalised IPv6 texts: a client sends many requests, parsing each is costly. */
const recent = new Map<string, string | undefined>();

/** The canonical text of an address (`::ffff:1.2.3.4` → `1.2.3.4`), or undefined. */
export function canonicalAddress(text: string): string | undefined {
  // The common case, a plain dotted quad, needs no parsing beyond the check.
  if (parseIPv4(text) >= 0) return text;
  if (text.length > 64) return undefined;
  if (recent.has(text)) return recent.get(text);
  const canonical = parseAddress(text)?.toString();
  if (recent.size >= 10_000) recent.clear();
  recent.set(text, canonical);
  return canonical;
}

/** Strips a port (`1.2.3.4:5678`, `[::1]:443`) and quotes/brackets from a forwarding hop. */
export function stripHop(hop: string): string {
  let text = hop.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1);
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) return bracketed[1];
  const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text);
  return v4WithPort ? v4WithPort[1] : text;
}

export class TrustedProxies {
  private readonly ranges: Range[];
  /** The IPv4 ranges as (network, mask) 32-bit integers: a check per request, parsed by hand. */
  private readonly v4: { network: number; mask: number }[];

  /** @param cidrs addresses or CIDRs, IPv4 or IPv6; throws naming a value that is neither. */
  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map((entry) => {
      const cidr = entry.trim();
      const slash = cidr.indexOf('/');
      if (slash !== -1) {
        const addr = parseAddress(cidr.slice(0, slash));
        let parsed: [Addr, number];
        try {
          parsed = ipaddr.parseCIDR(cidr);
        } catch {
          throw new Error(`"${cidr}" is not an IP address or CIDR (example: 10.0.0.0/8, ::1)`);
        }
        if (!addr) throw new Error(`"${cidr}" is not an IP address or CIDR`);
        // ::ffff:10.0.0.0/104 covers the same clients as 10.0.0.0/8.
        const mapped = parsed[0].kind() === 'ipv6' && addr.kind() === 'ipv4';
        return [addr, mapped ? Math.max(0, parsed[1] - 96) : parsed[1]] as Range;
      }
      const addr = parseAddress(cidr);
      if (!addr) throw new Error(`"${cidr}" is not an IP address or CIDR (example: 10.0.0.0/8)`);
      return [addr, addr.kind() === 'ipv4' ? 32 : 128] as Range;
    });
    this.v4 = this.ranges
      .filter(([addr]) => addr.kind() === 'ipv4')
      .map(([addr, prefix]) => {
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        return { network: (parseIPv4(addr.toString()) & mask) >>> 0, mask };
      });
  }

  get size(): number {
    return this.ranges.length;
  }

  isTrusted(address: Addr | string | undefined): boolean {
    if (this.ranges.length === 0 || address === undefined) return false;
    const n = typeof address === 'string' ? parseIPv4(address) : -1;
    if (n >= 0) {
      for (const { network, mask } of this.v4) if ((n & mask) >>> 0 === network) return true;
      return false;
    }
    const addr = typeof address === 'string' ? parseAddress(address) : address;
    if (!addr) return false;
    for (const [range, prefix] of this.ranges) {
      if (range.kind() === addr.kind() && addr.match(range, prefix)) return true;
    }
    return false;
  }

  /**
   * The client address given the TCP peer of the edge and the request's headers (lower-case
   * names; a repeated header's values in order, as Node's IncomingHttpHeaders gives them).
   * Returns undefined when the peer itself is not an address.
   */
  clientIp(peer: string | undefined, headers: ForwardingHeaders): string | undefined {
    const peerText = peer === undefined ? undefined : canonicalAddress(stripHop(peer));
    if (peerText === undefined) return undefined;
    if (!this.isTrusted(peerText)) return peerText;
    const header = (name: string) => headerText(headers, name);
    const xff = header('x-forwarded-for');
    if (xff) return this.walk(xff.split(','), peerText);
    const forwarded = header('forwarded');
    if (forwarded) return this.walk(forwardedFor(forwarded), peerText);
    const real = header('x-real-ip');
    if (real) return canonicalAddress(stripHop(real)) ?? peerText;
    return peerText;
  }

  /** Right to left: the first hop that is not a trusted proxy (or the left-most one). */
  private walk(hops: string[], peer: string): string {
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      // An empty entry (`a, , b`, a trailing comma) is no hop (nginx skips it too).
      if (hops[i].trim() === '') continue;
      const hop = canonicalAddress(stripHop(hops[i]));
      // A malformed or obfuscated hop ("unknown", "_hidden"): believe nothing to its left.
      if (hop === undefined) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }
}

/** The `for=` values of an RFC 7239 Forwarded header, in order. */
export function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      if (pair.slice(0, eq).trim().toLowerCase() === 'for') out.push(pair.slice(eq + 1).trim());
    }
  }
  return out;
}
