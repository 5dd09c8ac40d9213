/**
 * Manual entries (moat.config.v1, kind `manual-decision`): allow, deny or graylist an address
 * or CIDR, optionally until an expiry. Scoring turns each into a decision on
 * moat.decisions.v1 keyed by its subject (source `manual`, profile `manual`), lifts it with a
 * tombstone when the entry is deleted or expires, and lets manual entries win over automatic
 * decisions:
 *  - an allow covering an address (exact or CIDR) in force at a vote's event time suppresses
 *    every automatic decision for it (and the node agent lets a matching allow win anyway);
 *  - an entry for exactly a subject owns that subject's decision key for as long as the entry
 *    exists: scoring publishes no automatic decision and no automatic tombstone under that key,
 *    so an automatic expiry can never lift a manual deny.
 */
import {
  NO_EXPIRY,
  configKey,
  parseAddress,
  type Decision,
  type ManualDecisionEntry,
  parseSubject,
  subjectContains,
  type ParsedSubject,
} from '@moat/contracts';
import type { ConfigProblem } from '@moat/stream-kit';

/** Checks a manual entry beyond its schema: a canonical address or CIDR, an expiry after it was written. */
export function checkManualEntry(entry: ManualDecisionEntry): ConfigProblem | undefined {
  const parsed = parseSubject(entry.subject);
  if ('problem' in parsed) return { field: '/subject', reason: parsed.problem };
  if (parsed.subject !== entry.subject) {
    return {
      field: '/subject',
      reason: `write "${entry.subject}" in canonical form "${parsed.subject}" (it is the decision key)`,
    };
  }
  if (entry.expiresAt !== undefined && entry.expiresAt <= entry.updatedAt) {
    return {
      field: '/expiresAt',
      reason: `expiresAt ${new Date(entry.expiresAt).toISOString()} is not after updatedAt ${new Date(entry.updatedAt).toISOString()}`,
    };
  }
  return undefined;
}

/** The decision a manual entry stands for. */
export function manualDecision(entry: ManualDecisionEntry): Decision {
  return {
    v: 1,
    subject: entry.subject,
    action: entry.action,
    source: 'manual',
    botTypes: [],
    confidence: 1,
    detectors: [],
    profile: 'manual',
    createdAt: entry.updatedAt,
    expiresAt: entry.expiresAt ?? NO_EXPIRY,
    ...(entry.note !== undefined ? { note: entry.note } : {}),
  };
}

interface IndexedEntry {
  entry: ManualDecisionEntry;
  parsed: ParsedSubject;
}

/** The manual entries in force, indexed for the questions scoring asks per vote. */
export class ManualIndex {
  static readonly EMPTY = new ManualIndex([]);
  private readonly exact = new Map<string, ManualDecisionEntry>();
  private readonly allows: IndexedEntry[] = [];
  private readonly expiring: ManualDecisionEntry[] = [];

  constructor(entries: readonly ManualDecisionEntry[]) {
    for (const entry of entries) {
      const parsed = parseSubject(entry.subject);
      if ('problem' in parsed) continue; // the follower refuses these; never index one
      this.exact.set(parsed.subject, entry);
      if (entry.action === 'allow') this.allows.push({ entry, parsed });
      if (entry.expiresAt !== undefined) this.expiring.push(entry);
    }
    this.expiring.sort((a, b) => a.expiresAt! - b.expiresAt!);
  }

  get size(): number {
    return this.exact.size;
  }

  /** The entry for exactly this canonical subject, expired or not, while it exists. */
  owner(subject: string): ManualDecisionEntry | undefined {
    return this.exact.get(subject);
  }

  /** An allow entry covering the address and in force at event time `at`. */
  allowFor(address: string, at: number): ManualDecisionEntry | undefined {
    if (this.allows.length === 0) return undefined;
    const addr = parseAddress(address);
    if (!addr) return undefined;
    return this.allows.find(
      ({ entry, parsed }) =>
        (entry.expiresAt === undefined || entry.expiresAt > at) && subjectContains(parsed, addr),
    )?.entry;
  }

  /** Entries whose expiry is at or before `at` (event time), earliest first. */
  expiredBy(at: number): ManualDecisionEntry[] {
    const out: ManualDecisionEntry[] = [];
    for (const entry of this.expiring) {
      if (entry.expiresAt! > at) break;
      out.push(entry);
    }
    return out;
  }

  /** Config key of an entry (for deleting it once expired). */
  static keyOf(entry: ManualDecisionEntry): string {
    return configKey(entry);
  }
}
