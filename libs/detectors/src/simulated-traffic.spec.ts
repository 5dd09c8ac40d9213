/**
 * Every detector on labelled simulator traffic, as the detector service runs it (state per
 * client IP, baselines learned from the stream and refreshed every 500 events):
 * - a realistic day: ≥ 10,000 human sessions and one campaign of every bot scenario, plain and
 *   with a spoofed browser User-Agent: each detector fires on the scenarios it exists for and no
 *   person draws its `bot` vote;
 * - a site under attack, where bots send most of the requests and so most of what the baselines
 *   learn from: still no person draws a `bot` vote, and the scenarios are still caught.
 * The populations are generated once (the slow part: ~1.5 min on 2 cores) and cached on disk
 * (testing/event-cache.ts), keyed by the simulator's and the sessionizer's source.
 */
import { codecs, type DetectorId } from '@moat/contracts';
import { BOT_SCENARIOS, type LabelledEvent } from '@moat/simulator';
import { DETECTORS } from './registry';
import {
  asVote,
  humansVotedBot,
  runDetector,
  simulatedEvents,
  type DetectorRun,
} from './testing/simulated-traffic';

jest.setTimeout(300_000);

const both = (...scenarios: string[]) => scenarios.flatMap((s) => [s, `${s}~spoofed`]);

/**
 * The detectors of this spec (issue 4's first eight; later detectors bring their own) and the
 * bot scenarios each exists to catch, plain and spoofed where behaviour shows it.
 * (bad-user-agent and outdated-browser see only what the client says about itself, so spoofed
 * campaigns, which claim a current browser with its headers, are beyond them by design.)
 */
const EXPECTED: Record<string, string[]> = {
  // Every scenario in its plain variant carries a non-browser User-Agent, but one: the legacy
  // scraper's is a real browser's, only years old, with the headers that go with it.
  'bad-user-agent': BOT_SCENARIOS.filter((s) => s !== 'legacy-browser-scraper'),
  'request-rate': both('flood', 'scanner-paths', 'not-found-storm', 'legacy-browser-scraper'),
  // Which campaigns sleep a fixed or uniform time (caught) or arrive at random (not: their gaps
  // are as irregular as people's) is drawn per campaign; these are the seeds' fixed draws. The
  // legacy scraper always sleeps a fixed time.
  'request-interval': [
    ...both('legacy-browser-scraper'),
    'catalogue-enumeration',
    'credential-stuffing',
    'critical-endpoint-abuse',
    'critical-endpoint-abuse~spoofed',
    'distributed-scraper',
    'distributed-scraper~spoofed',
    'huge-payload',
  ],
  'request-uniqueness': both('flood', 'credential-stuffing', 'critical-endpoint-abuse'),
  // distributed-scraper: each address's tens of requests step the ids of one progression.
  'query-abuse': both(
    'catalogue-enumeration',
    'distributed-scraper',
    'legacy-browser-scraper',
    'slow-drip-scraper',
    'odd-sequence',
    'expensive-endpoint',
  ),
  'wide-scope': both('scanner-paths', 'not-found-storm', 'catalogue-enumeration', 'odd-sequence'),
  'business-logic-score': both(
    'critical-endpoint-abuse',
    'credential-stuffing',
    'expensive-endpoint',
    'huge-download',
  ),
  // A browser released 8–11 years ago. The spoofed variant claims a current browser, which it
  // cannot tell from a person's: request-rate, request-interval and query-abuse catch that one.
  'outdated-browser': ['legacy-browser-scraper'],
};

/**
 * The detectors this file runs. The account-takeover detectors keep cross-session tallies, which
 * runDetector does not host: libs/detector-service/src/account-takeover.spec.ts runs them as the
 * service does.
 */
const COVERED = Object.keys(DETECTORS).filter((id) => Object.hasOwn(EXPECTED, id));

/** People each detector must have judged clean: some only judge busy or critical sessions. */
const MIN_JUDGED: Record<string, number> = { 'business-logic-score': 50, 'request-rate': 100 };

const fired = (run: DetectorRun) =>
  [...run.scenarios].filter(([, hit]) => hit).map(([scenario]) => scenario);

describe('detectors on simulated traffic', () => {
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
    for (const detector of Object.values(DETECTORS)) {
      if (!COVERED.includes(detector.id)) continue;
      dayRuns.set(detector.id, runDetector(detector, day));
      attackRuns.set(detector.id, runDetector(detector, attack));
    }
  });

  it('the realistic day has at least 10,000 human sessions; bots send most requests under attack', () => {
    const humanSessions = new Set(
      day.filter((e) => e.label.kind === 'human').map((e) => e.event.sessionId),
    );
    expect(humanSessions.size).toBeGreaterThanOrEqual(10_000);
    const botShare = attack.filter((e) => e.label.kind === 'bot').length / attack.length;
    expect(botShare).toBeGreaterThan(0.5);
  });

  describe.each(COVERED)('%s', (id) => {
    it('no human session draws its bot vote, in the realistic day or under attack', () => {
      expect(humansVotedBot(dayRuns.get(id)!)).toEqual([]);
      expect(humansVotedBot(attackRuns.get(id)!)).toEqual([]);
    });

    it('votes clean on people it could judge (it works on human traffic)', () => {
      const run = dayRuns.get(id)!;
      const judged = run.votes.filter(
        (v) => v.label.kind === 'human' && v.vote.verdict === 'clean',
      );
      expect(new Set(judged.map((v) => v.actor)).size).toBeGreaterThan(MIN_JUDGED[id] ?? 500);
    });

    it('fires on its scenarios, including spoofed variants where behaviour shows it', () => {
      for (const run of [dayRuns.get(id)!, attackRuns.get(id)!]) {
        const caught = fired(run);
        expect(EXPECTED[id].filter((scenario) => !caught.includes(scenario))).toEqual([]);
      }
    });

    it('publishes only votes that pass the contract, each bot vote with evidence', () => {
      const run = dayRuns.get(id)!;
      for (const cast of run.votes.slice(0, 2_000)) {
        const vote = asVote(DETECTORS[id as DetectorId]!, cast);
        expect(codecs.votes.check(vote)).toEqual({ ok: true, value: vote });
        if (vote.verdict === 'bot') expect(vote.evidence.length).toBeGreaterThan(0);
      }
    });
  });

  describe('outdated-browser, on the ages it judges', () => {
    const ages = (run: DetectorRun, who: (label: LabelledEvent['label']) => boolean) =>
      run.votes
        .filter((v) => who(v.label))
        .map((v) => ({ actor: v.actor, verdict: v.vote.verdict, ...v.vote.evidence[0] }));
    const YEAR = 365.25;

    it('judges people on browsers two or three years old clean, well under its threshold', () => {
      for (const run of [dayRuns.get('outdated-browser')!, attackRuns.get('outdated-browser')!]) {
        const people = ages(run, (l) => l.kind === 'human');
        expect(people.every((p) => p.verdict === 'clean' && p.value < p.threshold!)).toBe(true);
        // The simulator's 2 % on a browser 8–20 releases old are among them.
        expect(people.filter((p) => p.value > 2 * YEAR).length).toBeGreaterThan(0);
      }
      const day = ages(dayRuns.get('outdated-browser')!, (l) => l.kind === 'human');
      expect(new Set(day.filter((p) => p.value > YEAR).map((p) => p.actor)).size).toBeGreaterThan(
        20,
      );
    });

    it('votes bot on the legacy scraper’s browser, 8+ years old; its spoofed variant is beyond it', () => {
      for (const run of [dayRuns.get('outdated-browser')!, attackRuns.get('outdated-browser')!]) {
        const legacy = ages(
          run,
          (l) => l.kind === 'bot' && l.scenario === 'legacy-browser-scraper' && !l.spoofedUserAgent,
        );
        expect(legacy.length).toBeGreaterThan(0);
        expect(legacy.every((v) => v.verdict === 'bot' && v.value >= 8 * YEAR)).toBe(true);
        // It judges what the client claims: a current browser's User-Agent is a current browser.
        expect(run.scenarios.get('legacy-browser-scraper~spoofed')).toBe(false);
      }
    });
  });

  it('prints what each detector caught (for the docs)', () => {
    const lines = [...dayRuns].map(
      ([id, run]) =>
        `${id}: day ${fired(run).length}/${run.scenarios.size} [${fired(run).sort().join(' ')}]; attack ${fired(attackRuns.get(id)!).length}/${attackRuns.get(id)!.scenarios.size} [${fired(attackRuns.get(id)!).sort().join(' ')}]`,
    );
    console.log(lines.join('\n'));
    expect(lines).toHaveLength(COVERED.length);
  });
});
