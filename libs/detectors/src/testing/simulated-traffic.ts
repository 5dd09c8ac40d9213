/**
 * Test support (not part of the library build): runs detectors over labelled simulator traffic
 * as the detector service would — events in order, state per key, the application's baseline
 * learned from the traffic and refreshed every `batchSize` events — and tallies who drew which
 * vote. Shared by the detector specs; the simulated events are built once and cached on disk.
 */
import type { SessionEvent, Vote } from '@moat/contracts';
import { LocalBaseline } from '@moat/baselines';
import {
  collectSessionEvents,
  population,
  simulate,
  type LabelledEvent,
  type PopulationOptions,
} from '@moat/simulator';
import type { AnyDetector, VoteDraft } from '../detector';
import { resolveDetectorConfig } from '../detector-config';
import { cached } from './event-cache';

const SECRET = 'detector-tests';
const memo = new Map<string, Promise<LabelledEvent[]>>();

/**
 * Labelled session events of a simulated population, memoised per seed and options in the
 * process and on disk (./event-cache.ts: keyed by the simulator's and sessionizer's source,
 * so a cached population is always the one the code would generate now).
 */
export function simulatedEvents(
  seed: number,
  options: PopulationOptions,
): Promise<LabelledEvent[]> {
  const key = JSON.stringify([seed, options]);
  let events = memo.get(key);
  if (!events) {
    events = cached({ seed, options, secret: SECRET }, () =>
      collectSessionEvents(simulate(population(seed, options)), { secret: SECRET }),
    );
    memo.set(key, events);
  }
  return events;
}

export interface CastVote {
  event: SessionEvent;
  vote: VoteDraft;
  actor: string;
  label: LabelledEvent['label'];
}

export interface DetectorRun {
  votes: CastVote[];
  baseline: LocalBaseline | undefined;
  /** Actors (one person, or one bot campaign, and its variant) who drew a `bot` vote. */
  botVoted: Set<string>;
  humanActors: Set<string>;
  /** Bot campaigns by `scenario` or `scenario~spoofed`, and whether each drew a `bot` vote. */
  scenarios: Map<string, boolean>;
}

export const scenarioKey = (label: LabelledEvent['label']) =>
  label.kind === 'bot' ? `${label.scenario}${label.spoofedUserAgent ? '~spoofed' : ''}` : 'human';

/** Runs one detector over the events, with learning on (default) or off. */
export function runDetector(
  detector: AnyDetector,
  events: readonly LabelledEvent[],
  options: { config?: unknown; learn?: boolean; batchSize?: number } = {},
): DetectorRun {
  const config = resolveDetectorConfig(detector, options.config ?? {});
  const learn = options.learn ?? true;
  const batchSize = options.batchSize ?? 500;
  const baseline = detector.baseline && learn ? new LocalBaseline(detector.baseline) : undefined;
  const states = new Map<string, unknown>();
  const run: DetectorRun = {
    votes: [],
    baseline,
    botVoted: new Set(),
    humanActors: new Set(),
    scenarios: new Map(),
  };
  events.forEach(({ event, label, actor }, i) => {
    if (baseline && i % batchSize === 0) baseline.refresh();
    if (label.kind === 'human') run.humanActors.add(actor);
    else if (!run.scenarios.has(scenarioKey(label))) run.scenarios.set(scenarioKey(label), false);
    const key = detector.stateKey(event);
    const result = detector.evaluate({
      event,
      state: key === null ? undefined : states.get(key),
      baseline: baseline?.view(event.request.app),
      config,
    });
    if (key !== null) states.set(key, result.state);
    if (baseline && result.observations)
      baseline.learn(event.request.app, event.request.ts, result.observations);
    if (!result.vote) return;
    run.votes.push({ event, vote: result.vote, actor, label });
    if (result.vote.verdict === 'bot') {
      run.botVoted.add(actor);
      if (label.kind === 'bot') run.scenarios.set(scenarioKey(label), true);
    }
  });
  return run;
}

/** Human actors who drew a bot vote, with one example vote each (for a readable failure). */
export function humansVotedBot(
  run: DetectorRun,
): { actor: string; persona: string; vote: VoteDraft; path: string }[] {
  const seen = new Set<string>();
  const out = [];
  for (const v of run.votes) {
    if (v.label.kind !== 'human' || v.vote.verdict !== 'bot' || seen.has(v.actor)) continue;
    seen.add(v.actor);
    out.push({
      actor: v.actor,
      persona: v.label.persona,
      vote: v.vote,
      path: v.event.request.path,
    });
  }
  return out;
}

/** The vote as the service would publish it (for contract checks). */
export function asVote(detector: AnyDetector, cast: CastVote): Vote {
  return {
    v: 1,
    id: `${detector.id}:${cast.event.request.id}`,
    detector: detector.id,
    ts: cast.event.request.ts,
    app: cast.event.request.app,
    ip: cast.event.request.ip,
    sessionId: cast.event.sessionId,
    verdict: cast.vote.verdict,
    score: cast.vote.score,
    evidence: cast.vote.evidence,
    eventId: cast.event.request.id,
  };
}
