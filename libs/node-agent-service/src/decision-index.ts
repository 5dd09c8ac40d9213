/**
 * The node agent's in-memory index of decisions, built to hold millions of entries in little
 * memory and answer a lookup in well under a microsecond:
 *
 * - exact addresses in one map per family, networks in one map per prefix length (longest prefix
 *   wins; a matching allow — manual allow entries — beats any deny or graylist on the path);
 * - keys are numbers for IPv4 (the 32-bit address as a small integer) and 8-character strings for
 *   IPv6 (its 16-bit groups), never objects;
 * - the map value is a slot number; a slot's action, expiry, metadata reference and generation
 *   live in typed arrays (14 bytes a slot), and the metadata a decision carries for the block
 *   response (source, profile, bot types, app) is interned and shared between decisions;
 * - expiry is checked at lookup against the wall clock (enforcement is live) and expired slots
 *   are reclaimed by a sweep that runs in small steps.
 *
 * Generations let a snapshot be reconciled with the topic: entries loaded from a snapshot are
 * provisional until the decisions topic confirms them; what the topic never re-states by the
 * time the agent has caught up is dropped.
 */
import type { BotType, Decision } from '@moat/contracts';
import {
  formatIPv4,
  formatIPv6,
  maskIPv4,
  parseAddress,
  parseSubject,
  type Address,
} from './ip-address';

export type Action = 'allow' | 'deny' | 'graylist';
export const ACTIONS: readonly Action[] = ['allow', 'deny', 'graylist'];
const ALLOW = 0;

/** What a decision carries beyond action and expiry, shared by the decisions that agree on it. */
export interface DecisionMeta {
  source: 'auto' | 'manual';
  profile: string;
  botTypes: readonly BotType[];
  app?: string;
}

/** The decision that decided a lookup. */
export interface Match {
  action: Action;
  subject: string;
  expiresAt: number;
  meta: DecisionMeta;
}

export interface Verdict {
  action: Action;
  match?: Match;
}

/** Entries loaded from a snapshot, not yet confirmed by the topic. */
export const PROVISIONAL = 0;
/** Entries applied from the decisions topic. */
export const CONFIRMED = 1;

/** A stored entry as the snapshot sees it. */
export interface EntryView {
  family: 4 | 6;
  prefix: number;
  /** IPv4: the unsigned 32-bit network address; IPv6: the 8 groups. */
  v4: number;
  groups: number[] | undefined;
  action: number;
  expiresAt: number;
  metaId: number;
}

const ALLOW_VERDICT: Verdict = Object.freeze({ action: 'allow' });

class SlotTable {
  action = new Uint8Array(1024);
  expires = new Float64Array(1024);
  meta = new Int32Array(1024);
  gen = new Uint8Array(1024);
  private readonly free: number[] = [];
  private next = 0;

  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.next === this.action.length) this.grow();
    return this.next++;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** Bytes held by the typed arrays (for the memory benchmark and metrics). */
  get bytes(): number {
    return this.action.length * (1 + 8 + 4 + 1) + this.free.length * 8;
  }

  private grow(): void {
    const size = this.action.length * 2;
    const action = new Uint8Array(size);
    const expires = new Float64Array(size);
    const meta = new Int32Array(size);
    const gen = new Uint8Array(size);
    action.set(this.action);
    expires.set(this.expires);
    meta.set(this.meta);
    gen.set(this.gen);
    Object.assign(this, { action, expires, meta, gen });
  }
}

/** Interned decision metadata with reference counts, so that lifted decisions free theirs. */
class MetaTable {
  private readonly byKey = new Map<string, number>();
  private readonly metas: (DecisionMeta | undefined)[] = [];
  private readonly keys: (string | undefined)[] = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];

  intern(meta: DecisionMeta): number {
    const key = metaKey(meta);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.free.pop() ?? this.metas.length;
      this.metas[id] = Object.freeze({ ...meta, botTypes: Object.freeze([...meta.botTypes]) });
      this.keys[id] = key;
      this.refs[id] = 0;
      this.byKey.set(key, id);
    }
    this.refs[id]++;
    return id;
  }

  get(id: number): DecisionMeta {
    return this.metas[id]!;
  }

  release(id: number): void {
    if (--this.refs[id] > 0) return;
    this.byKey.delete(this.keys[id]!);
    this.metas[id] = undefined;
    this.keys[id] = undefined;
    this.free.push(id);
  }

  /** Every live metadata entry by id (holes for freed ids), for the snapshot. */
  all(): (DecisionMeta | undefined)[] {
    return this.metas.slice();
  }

  get size(): number {
    return this.byKey.size;
  }
}

function metaKey(meta: DecisionMeta): string {
  return `${meta.source}\u0000${meta.profile}\u0000${meta.app ?? ''}\u0000${meta.botTypes.join(',')}`;
}

export function metaOf(decision: Decision): DecisionMeta {
  const meta: DecisionMeta = {
    source: decision.source,
    profile: decision.profile,
    botTypes: decision.botTypes,
  };
  if (decision.app !== undefined) meta.app = decision.app;
  return meta;
}

/** IPv6 groups as an 8-character key. */
function v6Key(groups: ArrayLike<number>): string {
  return String.fromCharCode(
    groups[0],
    groups[1],
    groups[2],
    groups[3],
    groups[4],
    groups[5],
    groups[6],
    groups[7],
  );
}

function v6Groups(key: string): number[] {
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = key.charCodeAt(i);
  return groups;
}

/** Masks an IPv6 key's groups to `prefix` bits into `out` (reused, no allocation). */
function maskGroupsInto(groups: ArrayLike<number>, prefix: number, out: number[]): void {
  for (let i = 0; i < 8; i++) {
    const keep = prefix - i * 16;
    out[i] =
      keep >= 16 ? groups[i] : keep <= 0 ? 0 : groups[i] & ((0xffff << (16 - keep)) & 0xffff);
  }
}

export class DecisionIndex {
  private readonly slots = new SlotTable();
  private readonly metas = new MetaTable();
  private readonly v4Exact = new Map<number, number>();
  private readonly v6Exact = new Map<string, number>();
  /** Networks per prefix length (index = prefix); exact addresses are not in here. */
  private readonly v4Nets: (Map<number, number> | undefined)[] = Array.from(
    { length: 32 },
    () => undefined,
  );
  private readonly v6Nets: (Map<string, number> | undefined)[] = Array.from(
    { length: 128 },
    () => undefined,
  );
  /** Prefix lengths in use, longest first. */
  private v4Prefixes: number[] = [];
  private v6Prefixes: number[] = [];
  private readonly byAction = [0, 0, 0];
  private readonly scratch = new Array<number>(8).fill(0);
  /** Bumped on every change (snapshot writers skip a write when nothing changed). */
  version = 0;

  get size(): number {
    return this.byAction[0] + this.byAction[1] + this.byAction[2];
  }

  /** Entries per action (expired entries count until the sweep reclaims them). */
  countByAction(): Record<Action, number> {
    return { allow: this.byAction[0], deny: this.byAction[1], graylist: this.byAction[2] };
  }

  /** Distinct metadata records shared by the entries. */
  get metadataCount(): number {
    return this.metas.size;
  }

  /** Bytes of the slot arrays (the maps' own memory is measured by the benchmark). */
  get slotBytes(): number {
    return this.slots.bytes;
  }

  /**
   * Applies a decision record of the topic: a decision sets (replaces) the subject's entry,
   * null lifts it. Returns false when the subject is not an IP address or CIDR.
   */
  apply(subject: string, decision: Decision | null, generation = CONFIRMED): boolean {
    const parsed = parseSubject(subject);
    if (!parsed) return false;
    if (!decision) {
      this.remove(parsed.address, parsed.prefix);
      return true;
    }
    this.set(
      parsed.address,
      parsed.prefix,
      ACTIONS.indexOf(decision.action),
      decision.expiresAt,
      metaOf(decision),
      generation,
    );
    return true;
  }

  /** Sets one entry (the snapshot loader's path: no subject text to parse). */
  set(
    address: Address,
    prefix: number,
    action: number,
    expiresAt: number,
    meta: DecisionMeta,
    generation = CONFIRMED,
  ): void {
    const metaId = this.metas.intern(meta);
    let slot: number | undefined;
    if (address.family === 4) {
      const map = prefix >= 32 ? this.v4Exact : this.v4NetMap(prefix, true);
      const key = maskIPv4(address.v4, prefix) | 0;
      slot = map.get(key);
      if (slot === undefined) map.set(key, (slot = this.newSlot()));
      else this.releaseSlotContents(slot);
    } else {
      const map = prefix >= 128 ? this.v6Exact : this.v6NetMap(prefix, true);
      maskGroupsInto(address.groups, prefix, this.scratch);
      const key = v6Key(this.scratch);
      slot = map.get(key);
      if (slot === undefined) map.set(key, (slot = this.newSlot()));
      else this.releaseSlotContents(slot);
    }
    this.slots.action[slot] = action;
    this.slots.expires[slot] = expiresAt;
    this.slots.meta[slot] = metaId;
    this.slots.gen[slot] = generation;
    this.byAction[action]++;
    this.version++;
  }

  /** Removes one entry; harmless when there is none. */
  remove(address: Address, prefix: number): void {
    if (address.family === 4) {
      const map = prefix >= 32 ? this.v4Exact : this.v4NetMap(prefix, false);
      const key = maskIPv4(address.v4, prefix) | 0;
      const slot = map?.get(key);
      if (slot === undefined) return;
      map!.delete(key);
      this.freeSlot(slot);
      if (prefix < 32 && map!.size === 0) this.dropNetMap(4, prefix);
    } else {
      const map = prefix >= 128 ? this.v6Exact : this.v6NetMap(prefix, false);
      maskGroupsInto(address.groups, prefix, this.scratch);
      const key = v6Key(this.scratch);
      const slot = map?.get(key);
      if (slot === undefined) return;
      map!.delete(key);
      this.freeSlot(slot);
      if (prefix < 128 && map!.size === 0) this.dropNetMap(6, prefix);
    }
    this.version++;
  }

  /** What to do with a client address at `now` (wall clock: enforcement is live). */
  lookup(address: string, now: number = Date.now()): Verdict {
    const parsed = parseAddress(address);
    return parsed ? this.lookupAddress(parsed, now) : ALLOW_VERDICT;
  }

  /** Longest prefix wins, except that an allow anywhere on the path wins over everything. */
  lookupAddress(address: Address, now: number = Date.now()): Verdict {
    const slot =
      address.family === 4 ? this.matchV4(address.v4, now) : this.matchV6(address.groups, now);
    if (slot < 0) return ALLOW_VERDICT;
    const action = ACTIONS[this.slots.action[slot]];
    return {
      action,
      match: new IndexMatch(
        action,
        this.slots.expires[slot],
        this.metas.get(this.slots.meta[slot]),
        address,
        this.matchedPrefix,
      ),
    };
  }

  /** The prefix of the last match (set by matchV4/matchV6, read right after). */
  private matchedPrefix = 0;

  private matchV4(v4: number, now: number): number {
    const { action, expires } = this.slots;
    let best = -1;
    const exact = this.v4Exact.get(v4 | 0);
    if (exact !== undefined && expires[exact] > now) {
      this.matchedPrefix = 32;
      if (action[exact] === ALLOW) return exact;
      best = exact;
    }
    const prefixes = this.v4Prefixes;
    for (let i = 0; i < prefixes.length; i++) {
      const prefix = prefixes[i];
      const slot = this.v4Nets[prefix]!.get(maskIPv4(v4, prefix) | 0);
      if (slot === undefined || expires[slot] <= now) continue;
      if (action[slot] === ALLOW) {
        this.matchedPrefix = prefix;
        return slot;
      }
      if (best < 0) {
        best = slot;
        this.matchedPrefix = prefix;
      }
    }
    return best;
  }

  private matchV6(groups: number[], now: number): number {
    const { action, expires } = this.slots;
    let best = -1;
    const exact = this.v6Exact.size > 0 ? this.v6Exact.get(v6Key(groups)) : undefined;
    if (exact !== undefined && expires[exact] > now) {
      this.matchedPrefix = 128;
      if (action[exact] === ALLOW) return exact;
      best = exact;
    }
    const prefixes = this.v6Prefixes;
    const masked = this.scratch;
    for (let i = 0; i < prefixes.length; i++) {
      const prefix = prefixes[i];
      maskGroupsInto(groups, prefix, masked);
      const slot = this.v6Nets[prefix]!.get(v6Key(masked));
      if (slot === undefined || expires[slot] <= now) continue;
      if (action[slot] === ALLOW) {
        this.matchedPrefix = prefix;
        return slot;
      }
      if (best < 0) {
        best = slot;
        this.matchedPrefix = prefix;
      }
    }
    return best;
  }

  /** Visits every stored entry (the snapshot writer); the view object is reused. */
  forEachEntry(visit: (entry: EntryView) => void): void {
    const view: EntryView = {
      family: 4,
      prefix: 32,
      v4: 0,
      groups: undefined,
      action: 0,
      expiresAt: 0,
      metaId: 0,
    };
    const fill = (slot: number) => {
      view.action = this.slots.action[slot];
      view.expiresAt = this.slots.expires[slot];
      view.metaId = this.slots.meta[slot];
      visit(view);
    };
    const v4 = (prefix: number, map: Map<number, number>) => {
      view.family = 4;
      view.prefix = prefix;
      view.groups = undefined;
      for (const [key, slot] of map) {
        view.v4 = key >>> 0;
        fill(slot);
      }
    };
    const v6 = (prefix: number, map: Map<string, number>) => {
      view.family = 6;
      view.prefix = prefix;
      view.v4 = 0;
      for (const [key, slot] of map) {
        view.groups = v6Groups(key);
        fill(slot);
      }
    };
    v4(32, this.v4Exact);
    for (const prefix of this.v4Prefixes) v4(prefix, this.v4Nets[prefix]!);
    v6(128, this.v6Exact);
    for (const prefix of this.v6Prefixes) v6(prefix, this.v6Nets[prefix]!);
  }

  /** Metadata records by id, as referenced by EntryView.metaId. */
  metadata(): (DecisionMeta | undefined)[] {
    return this.metas.all();
  }

  /**
   * Removes entries that expired at `now`, yielding every `step` visited entries so that a
   * caller can spread a sweep of millions of entries over many event-loop turns.
   */
  *sweepExpired(now: number, step = 10_000): Generator<void, number> {
    return yield* this.removeWhere((slot) => this.slots.expires[slot] <= now, step);
  }

  /** Removes entries of a generation (provisional snapshot entries the topic did not confirm). */
  *dropGeneration(generation: number, step = 10_000): Generator<void, number> {
    return yield* this.removeWhere((slot) => this.slots.gen[slot] === generation, step);
  }

  /** Runs a sweep generator to its end at once (tests, shutdown). */
  static drain(sweep: Generator<void, number>): number {
    for (;;) {
      const next = sweep.next();
      if (next.done) return next.value;
    }
  }

  private *removeWhere(doomed: (slot: number) => boolean, step: number): Generator<void, number> {
    let removed = 0;
    let visited = 0;
    const maps: [4 | 6, number, Map<number, number> | Map<string, number>][] = [
      [4, 32, this.v4Exact],
      ...this.v4Prefixes.map((p): [4, number, Map<number, number>] => [4, p, this.v4Nets[p]!]),
      [6, 128, this.v6Exact],
      ...this.v6Prefixes.map((p): [6, number, Map<string, number>] => [6, p, this.v6Nets[p]!]),
    ];
    for (const [family, prefix, map] of maps) {
      // Deleting the current entry while iterating a Map is safe in JavaScript.
      for (const [key, slot] of map as Map<number | string, number>) {
        if (++visited % step === 0) yield;
        if (!doomed(slot)) continue;
        (map as Map<number | string, number>).delete(key);
        this.freeSlot(slot);
        removed++;
      }
      if (map.size === 0 && prefix < (family === 4 ? 32 : 128)) this.dropNetMap(family, prefix);
    }
    if (removed > 0) this.version++;
    return removed;
  }

  private newSlot(): number {
    return this.slots.alloc();
  }

  private releaseSlotContents(slot: number): void {
    this.byAction[this.slots.action[slot]]--;
    this.metas.release(this.slots.meta[slot]);
  }

  private freeSlot(slot: number): void {
    this.releaseSlotContents(slot);
    this.slots.release(slot);
  }

  private v4NetMap(prefix: number, create: true): Map<number, number>;
  private v4NetMap(prefix: number, create: false): Map<number, number> | undefined;
  private v4NetMap(prefix: number, create: boolean): Map<number, number> | undefined {
    let map = this.v4Nets[prefix];
    if (!map && create) {
      this.v4Nets[prefix] = map = new Map();
      this.v4Prefixes = [...this.v4Prefixes, prefix].sort((a, b) => b - a);
    }
    return map;
  }

  private v6NetMap(prefix: number, create: true): Map<string, number>;
  private v6NetMap(prefix: number, create: false): Map<string, number> | undefined;
  private v6NetMap(prefix: number, create: boolean): Map<string, number> | undefined {
    let map = this.v6Nets[prefix];
    if (!map && create) {
      this.v6Nets[prefix] = map = new Map();
      this.v6Prefixes = [...this.v6Prefixes, prefix].sort((a, b) => b - a);
    }
    return map;
  }

  private dropNetMap(family: 4 | 6, prefix: number): void {
    if (family === 4) {
      this.v4Nets[prefix] = undefined;
      this.v4Prefixes = this.v4Prefixes.filter((p) => p !== prefix);
    } else {
      this.v6Nets[prefix] = undefined;
      this.v6Prefixes = this.v6Prefixes.filter((p) => p !== prefix);
    }
  }
}

function maskIPv6Copy(groups: ArrayLike<number>, prefix: number): number[] {
  const out = new Array<number>(8);
  maskGroupsInto(groups, prefix, out);
  return out;
}

/** A lookup's match; the subject is formatted only when someone reads it (block page, logs). */
class IndexMatch implements Match {
  private text?: string;

  constructor(
    readonly action: Action,
    readonly expiresAt: number,
    readonly meta: DecisionMeta,
    private readonly address: Address,
    private readonly prefix: number,
  ) {}

  get subject(): string {
    if (this.text === undefined) {
      const { address, prefix } = this;
      if (address.family === 4) {
        const net = formatIPv4(maskIPv4(address.v4, prefix));
        this.text = prefix === 32 ? net : `${net}/${prefix}`;
      } else {
        const net = formatIPv6(maskIPv6Copy(address.groups, prefix));
        this.text = prefix === 128 ? net : `${net}/${prefix}`;
      }
    }
    return this.text;
  }

  toJSON(): Match {
    const { action, subject, expiresAt, meta } = this;
    return { action, subject, expiresAt, meta };
  }
}
