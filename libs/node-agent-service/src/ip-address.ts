/**
 * Client addresses in the form the decision index keys them by: IPv4 as a 32-bit integer, IPv6
 * as its eight 16-bit groups. Parsing is strict (dotted-quad IPv4 only, not the shorthand and
 * octal forms that would alias other addresses) and IPv4-mapped IPv6 becomes IPv4, so one client
 * has one key. IPv4 — the hot path of every check — is parsed by hand; IPv6 by ipaddr.js.
 */
import { parseIPv4, parseSubject as parseSubjectText } from '@moat/contracts';
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
 * Parses a decision subject, `<address>` or `<address>/<prefix>`, by the rules of
 * @moat/contracts' parseSubject (IPv4-mapped networks become their IPv4 networks), except that
 * host bits are masked off rather than refused: the agent enforces what is on the topic.
 */
export function parseSubject(text: string): Subject | undefined {
  if (text.indexOf('/') < 0) {
    // A single address, the common case: parsed without building an object.
    const address = parseAddress(text);
    return address && { address, prefix: address.family === 4 ? 32 : 128 };
  }
  const parsed = parseSubjectText(text, { maskHostBits: true });
  if ('problem' in parsed) return undefined;
  const { network, prefix } = parsed;
  if (network.kind() === 'ipv4') {
    const [a, b, c, d] = network.toByteArray();
    return { address: { family: 4, v4: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0 }, prefix };
  }
  return { address: { family: 6, groups: (network as ipaddr.IPv6).parts.slice() }, prefix };
}

/** The network address of `v4` under `prefix`, unsigned. */
export function maskIPv4(v4: number, prefix: number): number {
  if (prefix <= 0) return 0;
  if (prefix >= 32) return v4 >>> 0;
  return (v4 & (-1 << (32 - prefix))) >>> 0;
}
