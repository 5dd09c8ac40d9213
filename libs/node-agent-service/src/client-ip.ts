/**
 * The client address of a request that reached us through proxies. Forwarding headers are
 * believed only when the peer is a trusted proxy; X-Forwarded-For is read from the right,
 * skipping trusted proxies, so a client cannot spoof its address by prepending entries.
 */
import {
  formatAddress,
  maskIPv4,
  parseAddress,
  parseSubject,
  type Address,
  type Subject,
} from './ip-address';

export class TrustedProxies {
  private readonly v4: Subject[];
  private readonly v6: Subject[];

  constructor(cidrs: string[]) {
    const ranges = cidrs.map((cidr) => {
      const subject = parseSubject(cidr.trim());
      if (!subject) throw new Error(`"${cidr}" is not an IP address or CIDR`);
      return subject;
    });
    this.v4 = ranges.filter((r) => r.address.family === 4);
    this.v6 = ranges.filter((r) => r.address.family === 6);
  }

  isTrusted(address: string | undefined): boolean {
    const addr = address === undefined ? undefined : parseAddress(address);
    return addr !== undefined && this.trusts(addr);
  }

  /** The client address: the first untrusted hop from the right, else the peer. */
  clientIp(
    peer: string | undefined,
    headers: Record<string, string | string[] | undefined>,
  ): string | undefined {
    const peerAddr = peer === undefined ? undefined : parseAddress(peer);
    if (!peerAddr) return undefined;
    if (!this.trusts(peerAddr)) return formatAddress(peerAddr);
    const forwarded = headerValue(headers['x-forwarded-for']);
    if (forwarded) {
      const hops = forwarded
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = parseAddress(stripPort(hops[i]));
        if (!hop) break; // a malformed hop: stop believing anything left of it
        if (!this.trusts(hop) || i === 0) return formatAddress(hop);
      }
    }
    const real = headerValue(headers['x-real-ip']);
    const realAddr = real ? parseAddress(real.trim()) : undefined;
    return formatAddress(realAddr ?? peerAddr);
  }

  private trusts(addr: Address): boolean {
    if (addr.family === 4) {
      for (const range of this.v4) {
        if (maskIPv4(addr.v4, range.prefix) === (range.address as { v4: number }).v4) return true;
      }
      return false;
    }
    for (const range of this.v6) {
      const net = (range.address as { groups: number[] }).groups;
      let inside = true;
      for (let g = 0; g < 8 && inside; g++) {
        const keep = range.prefix - g * 16;
        if (keep <= 0) break;
        const mask = keep >= 16 ? 0xffff : (0xffff << (16 - keep)) & 0xffff;
        inside = (addr.groups[g] & mask) === net[g];
      }
      if (inside) return true;
    }
    return false;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function stripPort(hop: string): string {
  if (hop.indexOf(':') < 0) return hop; // a bare IPv4 address, the common case
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1];
  const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  return v4WithPort ? v4WithPort[1] : hop;
}
