/**
 * Hosts a detector that keeps cross-session tallies (state keyed by account, fingerprint or
 * application, which the events' key — the client IP — does not follow). Per batch:
 *
 * 1. the tallies of every record are applied and read back in one round trip to the tally store
 *    (atomic per tally; commutative and idempotent, so concurrent replicas, a redelivered batch
 *    or a replay neither lose nor double-count anything);
 * 2. the records go through the ordinary keyed detector processing (per-IP state with
 *    watermarks, baselines), the detector reading its tallies;
 * 3. votes for the members of a tally (the IPs of a cluster or pool) are claimed — each member
 *    handed to exactly one triggering event, the same one again on a redelivery — and emitted,
 *    one per IP, with ids `<detector>:<tally>:<key hash>:<ip>` that depend neither on the order
 *    of events nor on the replica.
 * Outputs are produced before the keyed state is persisted and the offsets committed, as for
 * every handler, so a crash anywhere repeats the batch with the same outputs.
 */
import { createHash } from 'node:crypto';
import type { SessionEvent, Vote } from '@moat/contracts';
import type { AnyDetector, MemberVoteDraft, TallyReading, TallyRequest } from '@moat/detectors';
import type { BatchHandler, ClaimOp, StateStore, TallyOp, TallyStore } from '@moat/stream-kit';
import type { BaselineBookOptions } from './baseline-book';
import { detectorHandler } from './detector.processor';

/** HyperLogLog buckets read per distinct tally at most (window / bucket). */
const MAX_BUCKETS = 64;

interface Applied {
  readings: Record<string, TallyReading>;
  claims: Map<string, { key: string; min: number; limit: number; ttlMs: number }>;
  error?: Error;
}

export function tallyKey(detectorId: string, request: TallyRequest): string {
  return `xs:${detectorId}:${request.name}:${request.key}`;
}

/** The ops of one event's tallies, in the store's terms. */
export function tallyOps(detectorId: string, ts: number, requests: TallyRequest[]): TallyOp[] {
  return requests.map((r): TallyOp => {
    const key = tallyKey(detectorId, r);
    if (r.kind === 'members') {
      return {
        type: 'zset',
        key,
        ...(r.member !== undefined ? { member: r.member } : {}),
        score: ts,
        min: ts - r.windowMs,
        trimBelow: ts - r.retentionMs,
        max: r.maxMembers,
        ttlMs: r.retentionMs,
        list: r.list ?? 0,
      };
    }
    const last = Math.floor(ts / r.bucketMs);
    const first = Math.max(Math.floor((ts - r.windowMs + 1) / r.bucketMs), last - MAX_BUCKETS + 1);
    const countKeys: string[] = [];
    if (r.read !== false) for (let b = first; b <= last; b++) countKeys.push(`${key}:${b}`);
    return {
      type: 'hll',
      ...(r.member !== undefined ? { addTo: `${key}:${last}`, member: r.member } : {}),
      countKeys,
      ttlMs: r.retentionMs,
    };
  });
}

export function memberVoteId(detectorId: string, tally: string, key: string, ip: string): string {
  const digest = createHash('sha256').update(key).digest('base64url').slice(0, 16);
  return `${detectorId}:${tally}:${digest}:${ip}`;
}

export function crossSessionHandler(
  detector: AnyDetector,
  config: unknown,
  store: StateStore,
  tallies: TallyStore,
  options: BaselineBookOptions = {},
): BatchHandler<SessionEvent> {
  const declare = detector.tallies;
  if (!declare) throw new Error(`detector ${detector.id} keeps no cross-session tallies`);
  // The tallies each event of the batch in flight read (keyed by the event object itself).
  const applied = new Map<SessionEvent, Applied>();
  const memberVotes: { event: SessionEvent; draft: MemberVoteDraft }[] = [];
  const wrapped: AnyDetector = {
    ...detector,
    evaluate(input) {
      const own = applied.get(input.event);
      if (own?.error) throw own.error;
      const result = detector.evaluate({ ...input, tallies: own?.readings ?? {} });
      for (const draft of result.memberVotes ?? []) memberVotes.push({ event: input.event, draft });
      return result;
    },
  };
  const inner = detectorHandler(wrapped, config, store, options);

  return async (records, ctx) => {
    applied.clear();
    memberVotes.length = 0;
    const ops: TallyOp[] = [];
    const owners: { event: SessionEvent; requests: TallyRequest[]; ops: TallyOp[] }[] = [];
    for (const record of records) {
      const event = record.value;
      if (!event) continue;
      let requests: TallyRequest[];
      try {
        requests = declare(event, config);
      } catch (err) {
        // Dead-lettered by the keyed processing, which calls evaluate for it.
        applied.set(event, {
          readings: {},
          claims: new Map(),
          error: new Error(`cannot derive tallies: ${(err as Error).message}`),
        });
        continue;
      }
      const own = tallyOps(detector.id, event.request.ts, requests);
      owners.push({ event, requests, ops: own });
      ops.push(...own);
    }
    const results = await tallies.apply(ops);
    let i = 0;
    for (const { event, requests, ops: own } of owners) {
      const entry: Applied = { readings: {}, claims: new Map() };
      requests.forEach((request, j) => {
        entry.readings[request.name] = results[i + j];
        const op = own[j];
        if (op.type === 'zset' && request.kind === 'members')
          entry.claims.set(request.name, {
            key: op.key,
            min: op.min,
            limit: request.maxMembers,
            ttlMs: request.retentionMs,
          });
      });
      i += own.length;
      applied.set(event, entry);
    }

    const outcome = await inner(records, ctx);

    const claims: ClaimOp[] = [];
    const claimed: { event: SessionEvent; draft: MemberVoteDraft; key: string }[] = [];
    for (const { event, draft } of memberVotes) {
      const target = applied.get(event)?.claims.get(draft.tally);
      if (!target)
        throw new Error(`detector ${detector.id} voted for unknown members tally ${draft.tally}`);
      claims.push({ ...target, claimant: event.request.id });
      claimed.push({ event, draft, key: target.key });
    }
    const won = await tallies.claim(claims);
    claimed.forEach(({ event, draft, key }, c) => {
      for (const ip of won[c]) {
        if (draft.exclude?.includes(ip)) continue;
        const vote: Vote = {
          v: 1,
          id: memberVoteId(detector.id, draft.tally, key, ip),
          detector: detector.id,
          ts: event.request.ts,
          app: event.request.app,
          ip,
          verdict: 'bot',
          score: draft.score,
          evidence: draft.evidence,
          eventId: event.request.id,
        };
        ctx.out.emit('votes', ip, vote);
      }
    });
    applied.clear();
    memberVotes.length = 0;
    return outcome;
  };
}

/**
 * The handler a detector is hosted with, in the service and in replay alike: detectors that
 * keep cross-session tallies need the cross-session host, the others the keyed one.
 */
export function hostedDetectorHandler(
  detector: AnyDetector,
  config: unknown,
  store: StateStore,
  tallies: TallyStore | undefined,
  options: BaselineBookOptions = {},
): BatchHandler<SessionEvent> {
  if (!detector.tallies) return detectorHandler(detector, config, store, options);
  if (!tallies) throw new Error(`detector ${detector.id} needs a tally store to be hosted`);
  return crossSessionHandler(detector, config, store, tallies, options);
}
