/**
 * Decision subjects: an IPv4/IPv6 address or CIDR, in one canonical text form, because the
 * subject is the key of moat.decisions.v1 (compacted): two spellings of one address would be
 * two keys, and a tombstone for one would not lift the other. Canonical: dotted-quad IPv4;
 * IPv6 in RFC 5952 form (lower case, `::` compression); IPv4-mapped IPv6 as IPv4; a CIDR as
 * its network address and prefix, with /32 and /128 written as the bare address.
 *
 * Scoring parses the subjects people write (manual entries, profile files) and refuses a CIDR
 * with host bits set, which is usually a typo; the node agent, reading what is on the topic,
 * masks them off instead.
 */
import ipaddr from 'ipaddr.js';
import { parseAddress } from './client-address';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface ParsedSubject {
  /** The canonical text. */
  subject: string;
  network: Addr;
  /** Prefix length; the full length (32 or 128) for a single address. */
  prefix: number;
  single: boolean;
}

/**
 * Parses an address or CIDR. Returns the problem in words when it is neither, or when a CIDR
 * has host bits set (`10.0.0.5/8`: did you mean 10.0.0.0/8?) unless `maskHostBits`.
 */
export function parseSubject(
  text: string,
  options: { maskHostBits?: boolean } = {},
): ParsedSubject | { problem: string } {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const addr = parseAddress(text);
    if (!addr) return { problem: `"${text}" is not an IPv4 or IPv6 address or CIDR` };
    const full = addr.kind() === 'ipv4' ? 32 : 128;
    return { subject: addr.toString(), network: addr, prefix: full, single: true };
  }
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  let addr = parseAddress(addrText);
  if (!addr || !/^\d{1,3}$/.test(prefixText)) {
    return { problem: `"${text}" is not an IPv4 or IPv6 address or CIDR` };
  }
  let prefix = Number(prefixText);
  const raw = ipaddr.parse(addrText);
  // An IPv4-mapped network (::ffff:a.b.c.d/104) is the IPv4 network, as addresses are.
  if (raw.kind() === 'ipv6' && addr.kind() === 'ipv4') {
    if (prefix < 96) return { problem: `"${text}": an IPv4-mapped network needs a prefix ≥ 96` };
    prefix -= 96;
  }
  const full = addr.kind() === 'ipv4' ? 32 : 128;
  if (prefix > full) {
    return { problem: `"${text}": the prefix length must be at most ${full}` };
  }
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${prefix}`);
  if (!options.maskHostBits && network.toString() !== addr.toString()) {
    return {
      problem: `"${text}" has host bits set: did you mean ${network.toString()}/${prefix}?`,
    };
  }
  addr = network;
  if (prefix === full) return { subject: addr.toString(), network: addr, prefix, single: true };
  return { subject: `${addr.toString()}/${prefix}`, network: addr, prefix, single: false };
}

/** Whether `addr` lies in the subject's network. */
export function subjectContains(subject: ParsedSubject, addr: Addr): boolean {
  if (addr.kind() !== subject.network.kind()) return false;
  return addr.match(subject.network, subject.prefix);
}
