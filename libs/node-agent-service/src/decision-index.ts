/**
 * The node agent's in-memory index of decisions: exact addresses in a map, CIDRs per prefix
 * length (longest prefix wins), expiry by time at lookup, and a matching allow (manual allow
 * entries) beats any deny or graylist.
 * Addresses are normalised (IPv4-mapped IPv6 → IPv4) so one client has one key.
 */
import ipaddr from 'ipaddr.js';
import type { Decision } from '@moat/contracts';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface Verdict {
  action: 'allow' | 'deny' | 'graylist';
  decision?: Decision;
}

/**
 * Parses an address strictly: dotted-quad IPv4 (not `1` or octal `010.0.0.1`, which ipaddr.js
 * would also accept) or IPv6; IPv4-mapped IPv6 becomes IPv4.
 */
export function normaliseAddress(text: string): Addr | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return undefined;
  const addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr;
}

export class DecisionIndex {
  private readonly exact = new Map<string, Decision>();
  /** kind/prefix → network address string → decision */
  private readonly networks = new Map<string, Map<string, Decision>>();
  /** Prefix lengths in use, longest first, per address kind. */
  private prefixes: Record<'ipv4' | 'ipv6', number[]> = { ipv4: [], ipv6: [] };

  get size(): number {
    let n = this.exact.size;
    for (const m of this.networks.values()) n += m.size;
    return n;
  }

  /** Applies a decision record; null lifts whatever was set for the subject. */
  apply(subject: string, decision: Decision | null): void {
    const parsed = parseSubject(subject);
    if (!parsed) return;
    if (parsed.prefix === undefined) {
      if (decision) this.exact.set(parsed.key, decision);
      else this.exact.delete(parsed.key);
      return;
    }
    const bucketKey = `${parsed.kind}/${parsed.prefix}`;
    let bucket = this.networks.get(bucketKey);
    if (decision) {
      if (!bucket) this.networks.set(bucketKey, (bucket = new Map<string, Decision>()));
      bucket.set(parsed.key, decision);
    } else {
      bucket?.delete(parsed.key);
      if (bucket && bucket.size === 0) this.networks.delete(bucketKey);
    }
    this.recomputePrefixes();
  }

  /** What to do with a client address at `now` (wall clock: enforcement is live). */
  lookup(address: string, now: number = Date.now()): Verdict {
    const addr = normaliseAddress(address);
    if (!addr) return { action: 'allow' };
    const found = this.match(addr, now);
    return found ? { action: found.action, decision: found } : { action: 'allow' };
  }

  /** Longest prefix wins, except that an allow anywhere on the path wins over everything. */
  private match(addr: Addr, now: number): Decision | undefined {
    let best: Decision | undefined;
    const exact = this.exact.get(addr.toString());
    if (exact && exact.expiresAt > now) {
      if (exact.action === 'allow') return exact;
      best = exact;
    }
    const kind = addr.kind();
    const bits = addr.toByteArray();
    for (const prefix of this.prefixes[kind]) {
      const hit = this.networks.get(`${kind}/${prefix}`)?.get(networkKey(bits, prefix, kind));
      if (!hit || hit.expiresAt <= now) continue;
      if (hit.action === 'allow') return hit;
      best ??= hit;
    }
    return best;
  }

  private recomputePrefixes(): void {
    const next: Record<'ipv4' | 'ipv6', number[]> = { ipv4: [], ipv6: [] };
    for (const key of this.networks.keys()) {
      const [kind, prefix] = key.split('/') as ['ipv4' | 'ipv6', string];
      next[kind].push(Number(prefix));
    }
    next.ipv4.sort((a, b) => b - a);
    next.ipv6.sort((a, b) => b - a);
    this.prefixes = next;
  }
}

function parseSubject(
  subject: string,
): { key: string; kind: 'ipv4' | 'ipv6'; prefix?: number } | undefined {
  if (!subject.includes('/')) {
    const addr = normaliseAddress(subject);
    return addr ? { key: addr.toString(), kind: addr.kind() } : undefined;
  }
  try {
    let [network, prefix] = ipaddr.parseCIDR(subject);
    // An IPv4-mapped network is the IPv4 network, as lookups normalise mapped addresses.
    if (
      network.kind() === 'ipv6' &&
      prefix >= 96 &&
      (network as ipaddr.IPv6).isIPv4MappedAddress()
    ) {
      [network, prefix] = [(network as ipaddr.IPv6).toIPv4Address(), prefix - 96];
    }
    const kind = network.kind();
    const full = kind === 'ipv4' ? 32 : 128;
    if (prefix === full) return { key: network.toString(), kind };
    return { key: networkKey(network.toByteArray(), prefix, kind), kind, prefix };
  } catch {
    return undefined;
  }
}

/** The network address of `bytes` under `prefix`, as a compact string key. */
function networkKey(bytes: number[], prefix: number, kind: 'ipv4' | 'ipv6'): string {
  const masked = bytes.slice();
  for (let i = 0; i < masked.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    masked[i] &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return `${kind}:${masked.join('.')}`;
}
