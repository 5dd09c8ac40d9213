/**
 * The resource consumption detectors and the suspicious behavior score on labelled simulator
 * traffic, as the detector service runs them (state per client IP, baselines learned from the
 * stream and refreshed every 500 events):
 * - a realistic day: ≥ 10,000 human sessions and one campaign of every bot scenario, plain and
 *   with a spoofed browser User-Agent: each detector fires on its scenarios and no person draws
 *   its `bot` vote;
 * - a site under attack (6 hours, bots send most requests and so most of what is learned): still
 *   no person draws a `bot` vote, and the scenarios whose signal shows within 6 hours are caught.
 * The populations are the same draws as simulated-traffic.spec.ts (seeds 11 and 12), read from
 * the same disk cache.
 */
import { codecs } from '@moat/contracts';
import type { LabelledEvent } from '@moat/simulator';
import type { AnyDetector } from './detector';
import { responseTimeAnomalyDetector } from './response-time-anomaly/response-time-anomaly.detector';
import { excessiveRequestConsumptionDetector } from './excessive-request-consumption/excessive-request-consumption.detector';
import { excessiveResponseConsumptionDetector } from './excessive-response-consumption/excessive-response-consumption.detector';
import { suspiciousBehaviorScoreDetector } from './suspicious-behavior-score/suspicious-behavior-score.detector';
import {
  asVote,
  humansVotedBot,
  runDetector,
  simulatedEvents,
  type DetectorRun,
} from './testing/simulated-traffic';

jest.setTimeout(600_000);

const both = (...scenarios: string[]) => scenarios.flatMap((s) => [s, `${s}~spoofed`]);

/** The scenarios each detector exists to catch, in the day and under the 6-hour attack. */
const EXPECTED: Record<string, { day: string[]; attack: string[] }> = {
  'response-time-anomaly': {
    day: both('expensive-endpoint', 'huge-download'),
    attack: both('expensive-endpoint', 'huge-download'),
  },
  'excessive-request-consumption': { day: both('huge-payload'), attack: both('huge-payload') },
  // A slow-drip scraper takes more than people only over most of a day: not within 6 hours.
  // Under attack the learned session volumes are mostly bots': the legacy scraper's thousands
  // of pages stay under them.
  'excessive-response-consumption': {
    day: both('slow-drip-scraper', 'huge-download', 'expensive-endpoint', 'legacy-browser-scraper'),
    attack: both('huge-download', 'expensive-endpoint'),
  },
  // Under attack most learning sessions are bots' (the per-IP quota does not stop a campaign of
  // many IPs): the threshold stays at its ceiling and the most blatant campaigns are caught.
  // The legacy scrapers' six long sessions, judged clean, teach it at every checkpoint of their
  // length; one 30 s upstream timeout among thousands of 100 ms gaps lifts a session's interval
  // variation (intervalCv, over its lifetime) to 4–8, so the plain scanners' pauses between
  // rounds (13) no longer stand out.
  'suspicious-behavior-score': {
    day: both('odd-sequence', 'scanner-paths', 'not-found-storm', 'credential-stuffing'),
    attack: ['scanner-paths~spoofed', 'not-found-storm'],
  },
};

const DETECTORS: AnyDetector[] = [
  responseTimeAnomalyDetector,
  excessiveRequestConsumptionDetector,
  excessiveResponseConsumptionDetector,
  suspiciousBehaviorScoreDetector,
];

const fired = (run: DetectorRun) =>
  [...run.scenarios].filter(([, hit]) => hit).map(([scenario]) => scenario);

describe('resource consumption and behaviour detectors on simulated traffic', () => {
  let day: LabelledEvent[];
  let attack: LabelledEvent[];
  const dayRuns = new Map<string, DetectorRun>();
  const attackRuns = new Map<string, DetectorRun>();

  beforeAll(async () => {
    day = await simulatedEvents(11, { humans: 4_000, botsPerScenario: 1, spoof: true });
    attack = await simulatedEvents(12, {
      humans: 300,
      botsPerScenario: 3,
      spoof: true,
      durationMs: 6 * 3_600_000,
    });
    for (const detector of DETECTORS) {
      dayRuns.set(detector.id, runDetector(detector, day));
      attackRuns.set(detector.id, runDetector(detector, attack));
    }
  });

  it('the realistic day has at least 10,000 human sessions', () => {
    const sessions = new Set(
      day.filter((e) => e.label.kind === 'human').map((e) => e.event.sessionId),
    );
    expect(sessions.size).toBeGreaterThanOrEqual(10_000);
  });

  describe.each(DETECTORS.map((d) => d.id))('%s', (id) => {
    it('no human session draws its bot vote, in the realistic day or under attack', () => {
      expect(humansVotedBot(dayRuns.get(id)!)).toEqual([]);
      expect(humansVotedBot(attackRuns.get(id)!)).toEqual([]);
    });

    it('votes clean on people it could judge (it works on human traffic)', () => {
      const run = dayRuns.get(id)!;
      const judged = run.votes.filter(
        (v) => v.label.kind === 'human' && v.vote.verdict === 'clean',
      );
      expect(new Set(judged.map((v) => v.actor)).size).toBeGreaterThan(1_000);
    });

    it('fires on its scenarios, plain and with a spoofed browser', () => {
      const missed = (run: DetectorRun, expected: string[]) =>
        expected.filter((scenario) => !fired(run).includes(scenario));
      expect(missed(dayRuns.get(id)!, EXPECTED[id].day)).toEqual([]);
      expect(missed(attackRuns.get(id)!, EXPECTED[id].attack)).toEqual([]);
    });

    it('publishes only votes that pass the contract, each bot vote with evidence', () => {
      const detector = DETECTORS.find((d) => d.id === id)!;
      const run = dayRuns.get(id)!;
      const bots = run.votes.filter((v) => v.vote.verdict === 'bot');
      for (const cast of [...run.votes.slice(0, 1_000), ...bots]) {
        const vote = asVote(detector, cast);
        expect(codecs.votes.check(vote)).toEqual({ ok: true, value: vote });
        if (vote.verdict === 'bot') expect(vote.evidence.length).toBeGreaterThan(0);
      }
    });
  });

  it('prints what each detector caught (for the docs)', () => {
    const lines = DETECTORS.map(({ id }) => {
      const d = dayRuns.get(id)!;
      const a = attackRuns.get(id)!;
      return `${id}: day ${fired(d).length}/${d.scenarios.size} [${fired(d).sort().join(' ')}]; attack ${fired(a).length}/${a.scenarios.size} [${fired(a).sort().join(' ')}]`;
    });
    console.log(lines.join('\n'));
    expect(lines).toHaveLength(DETECTORS.length);
  });
});
