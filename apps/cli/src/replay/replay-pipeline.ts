/**
 * The standalone pipeline, in process and in event time, for replay: the services' own batch
 * handlers — the sessionizer's (single-process placement), every hosted detector's (with its
 * baselines and cross-session tallies) and the scoring's — over an in-memory state store whose
 * clock is the event time. A batch of requests goes through each stage in turn, as a batch would
 * through the topics; outputs are validated as on the bus but handed on as values, with no bus,
 * encoding or polling in between.
 */
import type { Decision, Profile, RequestRecord, SessionEvent, Vote } from '@moat/contracts';
import { topicNames } from '@moat/contracts';
import { hostedDetectorHandler, type HostedDetector } from '@moat/detector-service';
import { ScoreProcessor, type Weights } from '@moat/scoring-service';
import { sessionizerHandler } from '@moat/sessionizer-service';
import {
  CollectingEmitter,
  EventClock,
  keyedHandler,
  MemoryStateStore,
  MemoryTallyStore,
  type BatchContext,
  type BatchHandler,
  type Emitter,
  type InRecord,
  type KeyedProcessor,
  type TallyStore,
} from '@moat/stream-kit';

export interface PipelineOptions {
  hosted: HostedDetector[];
  profiles: Profile[];
  inactivityMs: number;
  verdictHorizonMs: number;
  /** Detector weights per bot type (default: the calibrated table in scoring). */
  weights?: Weights;
  /** Sees every vote of a batch, in event-time order, before scoring reads them. */
  onVotes?: (votes: readonly Vote[]) => void;
}

/** A decision with the vote that produced (or extended) it. */
export interface ReplayDecision {
  decision: Decision;
  vote: Vote;
  /** True when the decision only extends one already in force (same action, same start). */
  extension: boolean;
}

export interface PipelineCounters {
  requests: number;
  events: number;
  votes: { bot: number; clean: number };
  votesByDetector: Record<string, { bot: number; clean: number }>;
  decisions: number;
  deadLettered: Record<string, number>;
  lastDeadLetter?: string;
  /** CPU-bound time spent in each stage's handler (and its state writes), seconds. */
  stageSeconds: Record<string, number>;
}

interface Stage<In> {
  name: string;
  handler: BatchHandler<In>;
  offset: number;
}

/** The score processor, telling the emitter which vote it is working on. */
class AttributedScoreProcessor implements KeyedProcessor<Vote, unknown> {
  readonly name: string;
  readonly stateTtlMs: number;

  constructor(
    private readonly inner: ScoreProcessor,
    private readonly out: CollectingEmitter,
  ) {
    this.name = inner.name;
    this.stateTtlMs = inner.stateTtlMs;
  }

  stateKey(vote: Vote): string {
    return this.inner.stateKey(vote);
  }

  process(record: InRecord<Vote>, state: unknown, out: Emitter): unknown {
    this.out.context = record.value;
    try {
      return this.inner.process(record, state as never, out);
    } finally {
      this.out.context = undefined;
    }
  }
}

export class ReplayPipeline {
  readonly clock = new EventClock();
  readonly counters: PipelineCounters = {
    requests: 0,
    events: 0,
    votes: { bot: 0, clean: 0 },
    votesByDetector: {},
    decisions: 0,
    deadLettered: {},
    stageSeconds: {},
  };
  private readonly store = new MemoryStateStore(this.clock.read);
  private readonly tallies: TallyStore = new MemoryTallyStore(this.clock.read);
  private readonly out = new CollectingEmitter(topicNames());
  private readonly sessions: Stage<RequestRecord>;
  private readonly detectors: Stage<SessionEvent>[];
  private readonly scoring: Stage<Vote>;
  /** subject → `${action}:${createdAt}` of the last decision seen. */
  private readonly reported = new Map<string, string>();
  private readonly onVotes?: (votes: readonly Vote[]) => void;

  constructor(options: PipelineOptions) {
    this.sessions = {
      name: 'sessionizer',
      handler: sessionizerHandler({ inactivityMs: options.inactivityMs }, this.store),
      offset: 0,
    };
    this.detectors = options.hosted.map(({ detector, config }) => ({
      name: `detector-${detector.id}`,
      handler: hostedDetectorHandler(detector, config, this.store, this.tallies),
      offset: 0,
    }));
    const scorer = new ScoreProcessor({
      profiles: options.profiles,
      verdictHorizonMs: options.verdictHorizonMs,
      ...(options.weights ? { weights: options.weights } : {}),
    });
    this.onVotes = options.onVotes;
    this.scoring = {
      name: 'scoring',
      handler: keyedHandler(new AttributedScoreProcessor(scorer, this.out), this.store),
      offset: 0,
    };
  }

  /** State entries held (for the summary). */
  get stateEntries(): number {
    return this.store.size;
  }

  /**
   * Runs a batch of requests (in event-time order) through every stage; returns the decisions
   * taken, each with its vote.
   */
  async push(requests: RequestRecord[]): Promise<ReplayDecision[]> {
    if (requests.length === 0) return [];
    this.counters.requests += requests.length;
    const events = (await this.run(
      this.sessions,
      requests,
      (r) => r.ip,
      'events',
    )) as SessionEvent[];
    // The store's clock moves once the batch is read: its state expires as it would live.
    for (const r of requests) this.clock.advance(r.ts);
    if (events.length === 0) return [];
    this.counters.events += events.length;
    const votes: Vote[] = [];
    for (const stage of this.detectors) {
      for (const vote of (await this.run(stage, events, (e) => e.request.ip, 'votes')) as Vote[]) {
        votes.push(vote);
        this.countVote(vote);
      }
    }
    if (votes.length === 0) return [];
    // Votes are consumed in event-time order, as scoring would read them from the topic.
    votes.sort((a, b) => a.ts - b.ts);
    this.onVotes?.(votes);
    const decisions: ReplayDecision[] = [];
    for (const message of await this.runCollected(this.scoring, votes, (v) => v.ip)) {
      if (message.role !== 'decisions' || !message.value) continue;
      const decision = message.value as Decision;
      this.counters.decisions++;
      const mark = `${decision.action}:${decision.createdAt}`;
      const extension = this.reported.get(decision.subject) === mark;
      this.reported.set(decision.subject, mark);
      decisions.push({ decision, vote: message.context as Vote, extension });
    }
    return decisions;
  }

  private async run<In>(
    stage: Stage<In>,
    values: In[],
    key: (v: In) => string,
    role: 'events' | 'votes',
  ): Promise<unknown[]> {
    const collected = await this.runCollected(stage, values, key);
    const outputs: unknown[] = [];
    for (const m of collected) if (m.role === role && m.value !== null) outputs.push(m.value);
    return outputs;
  }

  private async runCollected<In>(stage: Stage<In>, values: In[], key: (v: In) => string) {
    const records: InRecord<In>[] = values.map((value) => ({
      topic: stage.name,
      partition: 0,
      offset: String(stage.offset++),
      key: key(value),
      value,
      timestamp: this.clock.now,
    }));
    const ctx: BatchContext = {
      out: this.out,
      deadLetter: (_record, reason) => {
        this.counters.deadLettered[stage.name] = (this.counters.deadLettered[stage.name] ?? 0) + 1;
        this.counters.lastDeadLetter = reason;
      },
    };
    const started = process.hrtime.bigint();
    const outcome = await stage.handler(records, ctx);
    await outcome?.persist?.();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.counters.stageSeconds[stage.name] =
      (this.counters.stageSeconds[stage.name] ?? 0) + seconds;
    return this.out.take();
  }

  private countVote(vote: Vote): void {
    this.counters.votes[vote.verdict]++;
    const perDetector = (this.counters.votesByDetector[vote.detector] ??= { bot: 0, clean: 0 });
    perDetector[vote.verdict]++;
  }
}
