/**
 * The client address of a request that reached us through proxies. Forwarding headers are
 * believed only when the peer is a trusted proxy; X-Forwarded-For is read from the right,
 * skipping trusted proxies, so a client cannot spoof its address by prepending entries.
 */
import ipaddr from 'ipaddr.js';
import { normaliseAddress } from './decision-index';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export class TrustedProxies {
  private readonly ranges: Range[];

  constructor(cidrs: string[]) {
    this.ranges = cidrs.map((cidr) => {
      if (cidr.includes('/')) {
        const [addr, prefix] = ipaddr.parseCIDR(cidr);
        return [
          unmap(addr),
          addr.kind() === 'ipv6' && isMapped(addr) ? Math.max(0, prefix - 96) : prefix,
        ] as Range;
      }
      const addr = normaliseAddress(cidr);
      if (!addr) throw new Error(`"${cidr}" is not an IP address or CIDR`);
      return [addr, addr.kind() === 'ipv4' ? 32 : 128] as Range;
    });
  }

  isTrusted(address: string | undefined): boolean {
    const addr = address === undefined ? undefined : normaliseAddress(address);
    if (!addr) return false;
    return this.ranges.some(
      ([range, prefix]) => range.kind() === addr.kind() && addr.match(range, prefix),
    );
  }

  /** The client address: the first untrusted hop from the right, else the peer. */
  clientIp(
    peer: string | undefined,
    headers: Record<string, string | string[] | undefined>,
  ): string | undefined {
    const peerAddr = peer === undefined ? undefined : normaliseAddress(peer)?.toString();
    if (!this.isTrusted(peerAddr)) return peerAddr;
    const forwarded = headerValue(headers['x-forwarded-for']);
    if (forwarded) {
      const hops = forwarded
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = normaliseAddress(stripPort(hops[i]))?.toString();
        if (!hop) break; // a malformed hop: stop believing anything left of it
        if (!this.isTrusted(hop) || i === 0) return hop;
      }
    }
    const real = headerValue(headers['x-real-ip']);
    const realAddr = real ? normaliseAddress(real.trim())?.toString() : undefined;
    return realAddr ?? peerAddr;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1];
  const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  return v4WithPort ? v4WithPort[1] : hop;
}

function isMapped(addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress();
}

function unmap(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return isMapped(addr) ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}
