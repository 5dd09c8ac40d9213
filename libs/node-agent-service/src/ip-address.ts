/**
 * Client addresses in the form the decision index keys them by: IPv4 as a 32-bit integer, IPv6
 * as its eight 16-bit groups. Parsing is strict (dotted-quad IPv4 only, not the shorthand and
 * octal forms that would alias other addresses) and IPv4-mapped IPv6 becomes IPv4, so one client
 * has one key. IPv4 — the hot path of every check — is parsed by hand; IPv6 by ipaddr.js.
 */
import { parseIPv4 } from '@moat/contracts';
import ipaddr from 'ipaddr.js';

export type Address = { family: 4; v4: number } | { family: 6; groups: number[] };

/** Parses an IPv4 or IPv6 address (IPv6 zone ids are dropped); undefined when it is neither. */
export function parseAddress(text: string): Address | undefined {
  const v4 = parseIPv4(text);
  if (v4 >= 0) return { family: 4, v4 };
  if (text.indexOf(':') < 0) return undefined;
  // The IPv4-mapped form a dual-stack socket reports for IPv4 peers, without the IPv6 parser.
  if (text.length <= 22 && text.toLowerCase().startsWith('::ffff:')) {
    const mapped = parseIPv4(text.slice(7));
    if (mapped >= 0) return { family: 4, v4: mapped };
  }
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const parsed = ipaddr.IPv6.parse(text);
  if (parsed.isIPv4MappedAddress()) {
    const [hi, lo] = [parsed.parts[6], parsed.parts[7]];
    return { family: 4, v4: hi * 65536 + lo };
  }
  return { family: 6, groups: parsed.parts.slice() };
}

export function formatIPv4(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
}

export function formatIPv6(groups: ArrayLike<number>): string {
  return new ipaddr.IPv6(Array.from(groups)).toString();
}

export function formatAddress(address: Address): string {
  return address.family === 4 ? formatIPv4(address.v4) : formatIPv6(address.groups);
}

/** A subject of a decision: an address or a network (prefix < full length). */
export interface Subject {
  address: Address;
  /** 32 or 128 for a single address. */
  prefix: number;
}

/**
 * Parses a decision subject, `<address>` or `<address>/<prefix>`. IPv4-mapped networks
 * (`::ffff:198.51.100.0/120`) become their IPv4 networks; host bits are masked off.
 */
export function parseSubject(text: string): Subject | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const address = parseAddress(text);
    return address && { address, prefix: address.family === 4 ? 32 : 128 };
  }
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  let prefix = Number(prefixText);
  const addrText = text.slice(0, slash);
  const v4 = parseIPv4(addrText);
  if (v4 >= 0) {
    if (prefix > 32) return undefined;
    return { address: { family: 4, v4: maskIPv4(v4, prefix) }, prefix };
  }
  if (addrText.indexOf(':') < 0 || !ipaddr.IPv6.isValid(addrText) || prefix > 128) return undefined;
  const parsed = ipaddr.IPv6.parse(addrText);
  if (parsed.isIPv4MappedAddress() && prefix >= 96) {
    prefix -= 96;
    const v4mapped = parsed.parts[6] * 65536 + parsed.parts[7];
    return { address: { family: 4, v4: maskIPv4(v4mapped, prefix) }, prefix };
  }
  return { address: { family: 6, groups: maskIPv6(parsed.parts, prefix) }, prefix };
}

/** The network address of `v4` under `prefix`, unsigned. */
export function maskIPv4(v4: number, prefix: number): number {
  if (prefix <= 0) return 0;
  if (prefix >= 32) return v4 >>> 0;
  return (v4 & (-1 << (32 - prefix))) >>> 0;
}

/** The network address of `groups` under `prefix`. */
export function maskIPv6(groups: ArrayLike<number>, prefix: number): number[] {
  const out = new Array<number>(8);
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    out[i] = keep === 0 ? 0 : groups[i] & ((0xffff << (16 - keep)) & 0xffff);
  }
  return out;
}

/**
 * Parses an address strictly into an ipaddr.js object (dotted-quad IPv4 or IPv6; IPv4-mapped
 * IPv6 becomes IPv4), for code that works with ipaddr.js ranges.
 */
export function normaliseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return undefined;
  const addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr;
}
