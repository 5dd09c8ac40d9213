/**
 * Turns votes into decisions. State per subject IP: each detector's latest verdict, the
 * subject's activity as seen through votes, and the decision in force. When a profile's bot
 * type reaches its threshold the subject is a detected bot; when the strictest triggered
 * profile's reaction is graylist or deny, a decision is published on moat.decisions.v1 (keyed
 * by the canonical IP) that expires `durationMs` after the vote's event time. A repeat
 * offender's decision is extended, but only once the new expiry moves it by at least a tenth
 * of the duration (or the reaction escalates): one decision per source, not a storm of
 * duplicates. Manual entries win: no automatic decision for an address a manual allow covers,
 * nor under a key a manual entry owns.
 *
 * The processor is pure and synchronous (the replay driver calls it directly). What the
 * service must persist besides the state — expiry timers, bots-registry snapshots, daily
 * statistics — it collects as side outputs per Emitter (`takeSideOutputs`), when enabled.
 */
import {
  canonicalAddress,
  type BotType,
  type Decision,
  type DetectorId,
  type Evidence,
  type ManualDecisionEntry,
  type Profile,
  type ProfileReaction,
  type Vote,
} from '@moat/contracts';
import type { Emitter, InRecord, KeyedProcessor } from '@moat/stream-kit';
import { confidenceByType, type TypeConfidence, type Verdict, type Weights } from './confidence';
import { ScoringPolicy } from './policy';
import { profileCoversApp, stricter } from './profiles';

/** Session ids and applications remembered per subject (bounded state). */
const RECENT_SESSIONS = 16;
const RECENT_APPS = 8;

export interface Activity {
  /** Event time this state was created: tells registry merges one incarnation from the next. */
  epoch: number;
  firstSeen: number;
  lastSeen: number;
  votes: number;
  /** Votes per detector; a detector votes at most once per request, so the max counts requests. */
  perDetector: Partial<Record<DetectorId, number>>;
  sessions: number;
  recentSessions: string[];
  apps: string[];
}

export interface SubjectState {
  verdicts: Partial<Record<DetectorId, Verdict>>;
  decision?: {
    action: Decision['action'];
    expiresAt: number;
    createdAt: number;
    profile?: string;
  };
  activity?: Activity;
  /** Event time the subject was first detected as a bot (a profile triggered). */
  detectedAt?: number;
  /** Every bot type a profile ever triggered for the subject. */
  botTypes?: BotType[];
}

export interface ScoringOptions {
  /** Profiles used until setPolicy() gives the published ones (DEFAULT_PROFILE in services). */
  profiles: Profile[];
  manual?: ManualDecisionEntry[];
  weights?: Weights;
  /** How long a detector's verdict counts, in event time. */
  verdictHorizonMs: number;
  /** Collect timers, registry snapshots and statistics for takeSideOutputs() (the service does). */
  sideOutputs?: boolean;
}

/** A detected bot as the registry records it after a vote. */
export interface BotSnapshot {
  subject: string;
  epoch: number;
  firstSeen: number;
  lastSeen: number;
  detectedAt: number;
  /** Requests judged: the most any one detector voted on (a lower bound of the bot's requests). */
  requests: number;
  votes: number;
  sessions: number;
  recentSessions: string[];
  apps: string[];
  /** Every bot type a profile ever triggered for it. */
  botTypes: BotType[];
  /** Highest confidence, at the last vote, over the bot types it was detected as. */
  confidence: number;
  /** Confidence per bot type at the last vote (types some detector worked for). */
  types: { botType: BotType; confidence: number; worked: number }[];
  /** Profiles that triggered at the last vote. */
  profiles: string[];
  /** Each detector's latest verdict within the horizon, its weight and share of each type's confidence. */
  detectors: {
    detector: DetectorId;
    verdict: 'bot' | 'clean';
    score: number;
    ts: number;
    contributions: Partial<Record<BotType, number>>;
    evidence: Evidence[];
  }[];
  decision?: { action: Decision['action']; profile: string; createdAt: number; expiresAt: number };
}

/** A distinct-count statistic: `member` counts on every UTC day from `from` to `to` (event time). */
export interface StatEvent {
  metric: 'bots' | `bots:${BotType}` | 'denylisted' | 'graylisted';
  member: string;
  from: number;
  to: number;
}

export interface ScoringSideOutputs {
  /** subject -> expiry of its automatic decision (event time); null cancels the timer. */
  timers: Map<string, number | null>;
  /** subject -> latest registry snapshot. */
  bots: Map<string, BotSnapshot>;
  stats: StatEvent[];
}

export function emptySideOutputs(): ScoringSideOutputs {
  return { timers: new Map(), bots: new Map(), stats: [] };
}

export class ScoreProcessor implements KeyedProcessor<Vote, SubjectState> {
  readonly name = 'score';
  private policy: ScoringPolicy;
  private readonly side = new WeakMap<Emitter, ScoringSideOutputs>();

  constructor(private readonly options: ScoringOptions) {
    this.policy = new ScoringPolicy({
      profiles: options.profiles,
      manual: options.manual,
      weights: options.weights,
    });
  }

  /** State is kept twice as long as the longest of the reaction durations and the horizon. */
  get stateTtlMs(): number {
    return Math.max(this.policy.longestDurationMs, this.options.verdictHorizonMs) * 2;
  }

  get currentPolicy(): ScoringPolicy {
    return this.policy;
  }

  /** Swaps the policy in force; the next record is processed with it. */
  setPolicy(policy: ScoringPolicy): void {
    this.policy = policy;
  }

  /** Removes and returns the side outputs collected for the records emitted into `out`. */
  takeSideOutputs(out: Emitter): ScoringSideOutputs {
    const collected = this.side.get(out) ?? emptySideOutputs();
    this.side.delete(out);
    return collected;
  }

  stateKey(vote: Vote): string {
    return vote.ip;
  }

  process(record: InRecord<Vote>, state: SubjectState | undefined, out: Emitter): SubjectState {
    const vote = record.value!;
    const policy = this.policy;
    const subject = canonicalAddress(vote.ip) ?? vote.ip;
    const verdicts = { ...(state?.verdicts ?? {}) };
    const previous = verdicts[vote.detector];
    if (!previous || previous.ts <= vote.ts) {
      verdicts[vote.detector] = {
        verdict: vote.verdict,
        score: vote.score,
        ts: vote.ts,
        evidence: vote.evidence,
      };
    }
    const next: SubjectState = { ...state, verdicts, activity: track(state?.activity, vote) };

    const scores = confidenceByType(
      verdicts,
      vote.ts,
      this.options.verdictHorizonMs,
      policy.weights,
    );
    // Profiles are ordered strictest first, so the first that triggers decides the reaction.
    const triggered: { profile: Profile; types: TypeConfidence[] }[] = [];
    for (const profile of policy.profiles) {
      if (!profileCoversApp(profile, vote.app)) continue;
      const types = scores.filter(
        (s) => profile.botTypes.includes(s.botType) && s.confidence >= profile.threshold,
      );
      if (types.length > 0) triggered.push({ profile, types });
    }
    if (triggered.length === 0 && state?.detectedAt === undefined) return next;

    const timers = new Map<string, number | null>();
    const stats: StatEvent[] = [];
    if (triggered.length > 0) {
      const types = new Set(triggered.flatMap((t) => t.types.map((s) => s.botType)));
      next.detectedAt ??= vote.ts;
      next.botTypes = [...new Set([...(state?.botTypes ?? []), ...types])];
      stats.push({ metric: 'bots', member: subject, from: vote.ts, to: vote.ts });
      for (const type of types) {
        stats.push({ metric: `bots:${type}`, member: subject, from: vote.ts, to: vote.ts });
      }
    }

    // A manual entry for exactly this subject owns its decision key: forget ours (its timer
    // must not lift the manual decision) and publish nothing under it.
    const owner = policy.manual.owner(subject);
    if (owner && next.decision) {
      next.decision = undefined;
      timers.set(subject, null);
    }
    const chosen = triggered[0];
    if (
      chosen &&
      chosen.profile.reaction !== 'monitor' &&
      !owner &&
      !policy.manual.allowFor(subject, vote.ts)
    ) {
      const decision = this.decide(vote, subject, chosen, next, verdicts);
      if (decision) {
        out.emit('decisions', subject, decision);
        next.decision = {
          action: decision.action,
          expiresAt: decision.expiresAt,
          createdAt: decision.createdAt,
          profile: decision.profile,
        };
        timers.set(subject, decision.expiresAt);
        stats.push({
          metric: decision.action === 'deny' ? 'denylisted' : 'graylisted',
          member: subject,
          from: decision.updatedAt ?? decision.createdAt,
          to: decision.expiresAt - 1,
        });
      }
    }

    if (this.options.sideOutputs) {
      const side = this.side.get(out) ?? emptySideOutputs();
      for (const [key, at] of timers) side.timers.set(key, at);
      side.stats.push(...stats);
      side.bots.set(
        subject,
        snapshot(subject, next, scores, triggered, vote.ts - this.options.verdictHorizonMs),
      );
      this.side.set(out, side);
    }
    return next;
  }

  /** The decision to publish now, or undefined when the one in force already says it. */
  private decide(
    vote: Vote,
    subject: string,
    chosen: { profile: Profile; types: TypeConfidence[] },
    next: SubjectState,
    verdicts: SubjectState['verdicts'],
  ): Decision | undefined {
    const reaction = chosen.profile.reaction as Exclude<ProfileReaction, 'monitor'>;
    const expiresAt = vote.ts + chosen.profile.durationMs;
    const current = next.decision;
    const active = current !== undefined && current.expiresAt > vote.ts;
    if (active) {
      const currentReaction = current.action as ProfileReaction;
      const sameOrWeaker = stricter(currentReaction, reaction) === currentReaction;
      // A weaker reaction does not replace a stricter decision still in force (it would lift it early).
      if (sameOrWeaker && current.action !== reaction) return undefined;
      if (sameOrWeaker && expiresAt - current.expiresAt < chosen.profile.durationMs / 10) {
        return undefined;
      }
    }
    const detectors = new Map<DetectorId, number>();
    for (const t of chosen.types)
      for (const c of t.contributors)
        detectors.set(c.detector, Math.max(detectors.get(c.detector) ?? 0, c.weight));
    const createdAt = active ? current.createdAt : vote.ts;
    return {
      v: 1,
      subject,
      action: reaction,
      source: 'auto',
      botTypes: chosen.types.map((t) => t.botType),
      confidence: Math.max(...chosen.types.map((t) => t.confidence)),
      detectors: [...detectors].map(([detector, weight]) => ({
        detector,
        weight,
        evidence: verdicts[detector]?.evidence ?? [],
      })),
      profile: chosen.profile.name,
      app: vote.app,
      createdAt,
      expiresAt,
      ...(active ? { updatedAt: vote.ts } : {}),
    };
  }
}

function track(activity: Activity | undefined, vote: Vote): Activity {
  const perDetector = { ...(activity?.perDetector ?? {}) };
  perDetector[vote.detector] = (perDetector[vote.detector] ?? 0) + 1;
  let sessions = activity?.sessions ?? 0;
  let recentSessions = activity?.recentSessions ?? [];
  if (vote.sessionId !== undefined && !recentSessions.includes(vote.sessionId)) {
    sessions += 1;
    recentSessions = [...recentSessions, vote.sessionId].slice(-RECENT_SESSIONS);
  }
  let apps = activity?.apps ?? [];
  if (!apps.includes(vote.app)) apps = [...apps, vote.app].slice(-RECENT_APPS);
  return {
    epoch: activity?.epoch ?? vote.ts,
    firstSeen: Math.min(activity?.firstSeen ?? vote.ts, vote.ts),
    lastSeen: Math.max(activity?.lastSeen ?? vote.ts, vote.ts),
    votes: (activity?.votes ?? 0) + 1,
    perDetector,
    sessions,
    recentSessions,
    apps,
  };
}

function snapshot(
  subject: string,
  state: SubjectState,
  scores: TypeConfidence[],
  triggered: { profile: Profile; types: TypeConfidence[] }[],
  /** Verdicts older than this (event time) no longer count. */
  horizon: number,
): BotSnapshot {
  const activity = state.activity!;
  const worked = scores.filter((s) => s.worked > 0);
  const detectors: BotSnapshot['detectors'] = [];
  for (const [detector, verdict] of Object.entries(state.verdicts) as [DetectorId, Verdict][]) {
    if (verdict.ts < horizon) continue;
    const contributions: Partial<Record<BotType, number>> = {};
    for (const s of worked) {
      const c = s.contributors.find((x) => x.detector === detector);
      if (c) contributions[s.botType] = (c.weight * verdict.score) / s.possible;
    }
    detectors.push({
      detector,
      verdict: verdict.verdict,
      score: verdict.score,
      ts: verdict.ts,
      contributions,
      evidence: verdict.evidence,
    });
  }
  const decision = state.decision;
  return {
    subject,
    epoch: activity.epoch,
    firstSeen: activity.firstSeen,
    lastSeen: activity.lastSeen,
    detectedAt: state.detectedAt!,
    requests: Math.max(0, ...Object.values(activity.perDetector)),
    votes: activity.votes,
    sessions: activity.sessions,
    recentSessions: activity.recentSessions,
    apps: activity.apps,
    botTypes: state.botTypes ?? [],
    confidence: Math.max(
      0,
      ...worked.filter((s) => state.botTypes?.includes(s.botType)).map((s) => s.confidence),
    ),
    types: worked.map((s) => ({ botType: s.botType, confidence: s.confidence, worked: s.worked })),
    profiles: triggered.map((t) => t.profile.name),
    detectors,
    ...(decision
      ? {
          decision: {
            action: decision.action,
            profile: decision.profile ?? '',
            createdAt: decision.createdAt,
            expiresAt: decision.expiresAt,
          },
        }
      : {}),
  };
}
