/**
 * The sessionizer's batch handlers.
 *
 * One writer per session. moat.requests.v1 is keyed by client IP, so the requests of a
 * fingerprint session (which includes the IP) all arrive on one partition, but a session keyed
 * by a credential follows its client across addresses and so across partitions — and two
 * sessionizer replicas owning two of those partitions would read, update and write the same
 * session concurrently, losing updates or splitting the session. So the sessionizer re-keys:
 *
 * 1. `requestsHandler` (input moat.requests.v1): fingerprint sessions are placed here, with
 *    their state keyed by session key; a request with a credential session key is forwarded to
 *    moat.session-requests.v1 keyed by that session key, with the partition and offset it was
 *    read at.
 * 2. `sessionRequestsHandler` (input moat.session-requests.v1): every request of a credential
 *    session arrives on the one partition its key hashes to, so exactly one consumer of the
 *    group owns the session: it places the request and emits the event.
 *
 * This is Kafka Streams' repartitioning (`selectKey` → repartition topic), preferred over
 * optimistic concurrency on the state (WATCH/MULTI or a Lua compare-and-set): with
 * compare-and-set a replica learns it lost the race only after its events are published (the
 * pipeline publishes, then persists, then commits), so it would have published events computed
 * on a stale session; with one owner per session there is no race to lose, every replica's
 * state reads and writes stay one MGET and one pipeline per batch, and the cost is one more hop
 * for credential-keyed requests only.
 *
 * Idempotence across the hop: a replica killed after forwarding but before committing forwards
 * the same requests again, at new offsets of the re-keyed topic. Stage 2 therefore keys its
 * watermarks by where each request was read from moat.requests.v1 (`source`), not by the
 * re-keyed offset, so a second copy is recognised and skipped; and its own replays are skipped
 * the same way (keyedHandler's watermark rule, see stream-kit).
 *
 * Learned route templates are shared by the handlers of a process and merged through the state
 * store (`routes:<app>`), read at the start of a batch and written with its state.
 */
import type { RequestRecord, SessionRequest } from '@moat/contracts';
import {
  keyedHandler,
  type BatchContext,
  type BatchHandler,
  type BatchOutcome,
  type InRecord,
  type KeyedProcessor,
  type StateStore,
} from '@moat/stream-kit';
import { RouteLearner } from './route-learner';
import { SessionProcessor, type SessionizerOptions, type SessionState } from './session.processor';

export const DEFAULT_INACTIVITY_MS = 1_800_000;
/** Learned route decisions are kept this long after their last write (wall clock; GC only). */
const ROUTES_TTL_MS = 30 * 86_400_000;

export function sessionProcessor(options: Partial<SessionizerOptions> = {}): SessionProcessor {
  return new SessionProcessor({
    ...options,
    inactivityMs: options.inactivityMs ?? DEFAULT_INACTIVITY_MS,
  });
}

/** Reads and writes the learned route decisions of the applications a batch touches. */
class RouteDecisions {
  constructor(
    private readonly learner: RouteLearner,
    private readonly store: StateStore,
  ) {}

  async load(apps: Iterable<string>): Promise<void> {
    const list = [...new Set(apps)];
    if (list.length === 0) return;
    const stored = await this.store.getMany(list.map((app) => `routes:${app}`));
    list.forEach((app, i) => this.learner.merge(app, stored[i]));
  }

  async save(): Promise<void> {
    const writes = this.learner
      .takeUnsaved()
      .map(({ app, value }) => ({ key: `routes:${app}`, value, ttlMs: ROUTES_TTL_MS }));
    if (writes.length > 0) await this.store.setMany(writes);
  }
}

function withRoutes<T>(
  decisions: RouteDecisions,
  appOf: (value: T) => string,
  handler: BatchHandler<T>,
): BatchHandler<T> {
  return async (records, ctx) => {
    await decisions.load(records.flatMap((r) => (r.value ? [appOf(r.value)] : [])));
    const outcome = await handler(records, ctx);
    return {
      persist: async () => {
        await outcome?.persist?.();
        await decisions.save();
      },
    };
  };
}

/**
 * Single-process sessionizing (one writer by construction): every request placed directly.
 * For the simulator, replays and tests; the services use the two stages below.
 */
export function sessionizerHandler(
  options: Partial<SessionizerOptions>,
  store: StateStore,
): BatchHandler<RequestRecord> {
  const processor = sessionProcessor(options);
  return withRoutes(
    new RouteDecisions(processor.learner, store),
    (r) => r.app,
    keyedHandler(processor, store),
  );
}

/** The re-keyed stage's processor: state keyed by the forwarded session key. */
class CredentialSessionProcessor implements KeyedProcessor<SessionRequest, SessionState> {
  readonly name: string;
  readonly stateTtlMs: number;

  constructor(private readonly inner: SessionProcessor) {
    // The same namespace as stage 1: a session's state does not depend on the path it took.
    this.name = inner.name;
    this.stateTtlMs = inner.stateTtlMs;
  }

  stateKey(value: SessionRequest): string {
    return value.sessionKey;
  }

  process(
    record: InRecord<SessionRequest>,
    state: SessionState | undefined,
    out: Parameters<SessionProcessor['process']>[2],
  ): SessionState {
    const value = record.value!;
    return this.inner.place(
      value.request,
      { key: value.sessionKey, kind: 'credential' },
      state,
      out,
    );
  }
}

export interface SessionizerStages {
  processor: SessionProcessor;
  /** Input moat.requests.v1: places fingerprint sessions, forwards credential ones. */
  requests: BatchHandler<RequestRecord>;
  /** Input moat.session-requests.v1: places credential sessions, one owner per session. */
  sessionRequests: BatchHandler<SessionRequest>;
}

export function sessionizerStages(
  options: Partial<SessionizerOptions>,
  store: StateStore,
): SessionizerStages {
  const processor = sessionProcessor(options);
  const decisions = new RouteDecisions(processor.learner, store);
  const placeFingerprints = keyedHandler(processor, store);
  const placeCredentials = keyedHandler(new CredentialSessionProcessor(processor), store);

  const requests: BatchHandler<RequestRecord> = async (
    records,
    ctx,
  ): Promise<BatchOutcome | void> => {
    const local: InRecord<RequestRecord>[] = [];
    for (const record of records) {
      const request = record.value;
      if (request === null) continue;
      try {
        const key = processor.sessionKey(request);
        if (key.kind === 'fingerprint') {
          local.push(record);
          continue;
        }
        ctx.out.emit('sessionRequests', key.key, {
          v: 1,
          sessionKey: key.key,
          source: { partition: record.partition, offset: record.offset },
          request,
        });
      } catch (err) {
        ctx.deadLetter(record, `cannot route to its session: ${(err as Error).message}`);
      }
    }
    return local.length > 0 ? placeFingerprints(local, ctx) : undefined;
  };

  const sessionRequests: BatchHandler<SessionRequest> = async (records, ctx) => {
    // Watermarks by source coordinates: a request forwarded twice is applied once.
    const original = new Map<InRecord<SessionRequest>, InRecord<SessionRequest>>();
    const rekeyed = records.flatMap((record) => {
      if (record.value === null) return [];
      const mapped: InRecord<SessionRequest> = {
        ...record,
        partition: record.value.source.partition,
        offset: record.value.source.offset,
      };
      original.set(mapped, record);
      return [mapped];
    });
    const mappedCtx: BatchContext = {
      out: ctx.out,
      deadLetter: (record, reason) =>
        ctx.deadLetter(original.get(record as InRecord<SessionRequest>) ?? record, reason),
    };
    return placeCredentials(rekeyed, mappedCtx);
  };

  return {
    processor,
    requests: withRoutes(decisions, (r) => r.app, requests),
    sessionRequests: withRoutes(decisions, (r) => r.request.app, sessionRequests),
  };
}
