/**
 * Client addresses: residential and mobile-carrier networks for people (and for bots that rent
 * residential proxies), hosting networks for most bots. Addresses are drawn inside plausible
 * public prefixes, never in reserved or documentation ranges, and rendered by ipaddr.js.
 */
import ipaddr from 'ipaddr.js';
import type { Rng } from './rng';

/** First octets of large consumer ISP allocations (RIR-assigned, publicly routed). */
const RESIDENTIAL_V4 = [
  24, 50, 67, 68, 71, 73, 75, 76, 81, 82, 84, 86, 90, 92, 98, 151, 176, 178, 188, 212, 217,
];
/** First octets of large cloud and hosting allocations. */
const HOSTING_V4 = [
  3, 13, 18, 34, 35, 44, 45, 52, 54, 104, 138, 139, 143, 157, 159, 164, 165, 167, 185, 193, 194,
];
/** Mobile-carrier IPv6 /32s (documentation-free, globally routed). */
const MOBILE_V6 = [
  [0x2a00, 0x20],
  [0x2600, 0x1000],
  [0x2a01, 0x0cb0],
  [0x2607, 0xfb90],
];

export type Network = 'residential' | 'hosting' | 'mobile';

function v4(rng: Rng, firstOctets: readonly number[]): string {
  return ipaddr
    .fromByteArray([rng.pick(firstOctets), rng.int(0, 255), rng.int(0, 255), rng.int(1, 254)])
    .toString();
}

export function randomIp(rng: Rng, network: Network): string {
  switch (network) {
    case 'residential':
      return v4(rng, RESIDENTIAL_V4);
    case 'hosting':
      return v4(rng, HOSTING_V4);
    case 'mobile': {
      if (rng.chance(0.4)) return v4(rng, RESIDENTIAL_V4); // carrier-grade NAT
      const [a, b] = rng.pick(MOBILE_V6);
      const bytes = [a >> 8, a & 0xff, b >> 8, b & 0xff];
      for (let i = 0; i < 12; i++) bytes.push(rng.int(0, 255));
      return ipaddr.fromByteArray(bytes).toString();
    }
  }
}

/** `size` distinct addresses (a proxy pool, a botnet). */
export function ipPool(rng: Rng, network: Network, size: number): string[] {
  const pool = new Set<string>();
  while (pool.size < size) pool.add(randomIp(rng, network));
  return [...pool];
}

/** A neighbouring address in the same /24 (a DHCP renewal, the next host of a rented block). */
export function sameSubnet(rng: Rng, ip: string): string {
  const parsed = ipaddr.parse(ip);
  if (parsed.kind() !== 'ipv4') return ip;
  const bytes = parsed.toByteArray();
  bytes[3] = rng.int(1, 254);
  return ipaddr.fromByteArray(bytes).toString();
}
