/**
 * The six account-takeover detectors on labelled simulator traffic, hosted as the detector
 * service hosts them (keyed state with watermarks, cross-session tallies in a tally store, votes
 * decoded from what the handler emits), events spread over partitions by client IP as on Kafka:
 * - two days of people with every account-takeover scenario, plain and with a spoofed browser:
 *   each scenario is caught by the detectors that exist for it, no person draws a `bot` vote,
 *   and low-frequency stuffing (≥ 1,000 IPs, ≤ 2 attempts each) is voted IP by IP;
 * - a legitimate login peak (10× the normal login volume, normal success rate) draws no `bot`
 *   vote from any of the six;
 * - a second run in another partition layout and batch size gives the same set of bot votes.
 */
import { createHash } from 'node:crypto';
import { codecs, topicNames, type SessionEvent, type Vote } from '@moat/contracts';
import { DETECTORS, resolveDetectorConfig, type AnyDetector } from '@moat/detectors';
import {
  collectSessionEvents,
  DEFAULT_START,
  extraPeakHumans,
  simulate,
  simulateLoginPeak,
  type BotScenario,
  type LabelledEvent,
} from '@moat/simulator';
import { Emitter, MemoryStateStore, MemoryTallyStore, type InRecord } from '@moat/stream-kit';
import { crossSessionHandler } from './cross-session.handler';
import { detectorHandler } from './detector.processor';

jest.setTimeout(600_000);

const HOUR = 3_600_000;
const ATO = [
  'authentication-abuse',
  'credential-stuffing',
  'low-frequency-credential-stuffing',
  'ip-rotation',
  'session-rotation',
  'persistent-ato',
] as const;
const SCENARIOS: BotScenario[] = [
  'credential-stuffing',
  'low-frequency-stuffing',
  'ip-rotation',
  'session-rotation',
  'persistent-ato',
];

const topics = topicNames('ato-spec');

/** Runs one detector over the events as the service would; returns the votes it published. */
async function host(
  detector: AnyDetector,
  events: readonly LabelledEvent[],
  options: { partitions?: number; batchSize?: number } = {},
): Promise<Vote[]> {
  const partitions = options.partitions ?? 6;
  const batchSize = options.batchSize ?? 500;
  const config = resolveDetectorConfig(detector, {});
  let clock = 0;
  const store = new MemoryStateStore(() => clock);
  const tallies = new MemoryTallyStore(() => clock);
  const handler = detector.tallies
    ? crossSessionHandler(detector, config, store, tallies)
    : detectorHandler(detector, config, store);
  const offsets = new Array<number>(partitions).fill(0);
  const votes: Vote[] = [];
  for (let i = 0; i < events.length; i += batchSize) {
    const records: InRecord<SessionEvent>[] = events.slice(i, i + batchSize).map(({ event }) => {
      clock = Math.max(clock, event.request.ts);
      const partition =
        createHash('md5').update(event.request.ip).digest().readUInt32BE(0) % partitions;
      return {
        topic: topics.events,
        partition,
        offset: String(offsets[partition]++),
        key: event.request.ip,
        value: event,
        timestamp: event.request.ts,
      };
    });
    const out = new Emitter(topics);
    const failures: string[] = [];
    const outcome = await handler(records, {
      out,
      deadLetter: (_record, reason) => failures.push(reason),
    });
    if (failures.length > 0) throw new Error(`dead letters: ${failures.join('; ')}`);
    await outcome?.persist?.();
    for (const message of out.drain()) {
      if (message.topic !== topics.votes) continue;
      const decoded = codecs.votes.decode(message.value);
      if (!decoded.ok || !decoded.value) throw new Error('invalid vote');
      votes.push(decoded.value);
    }
  }
  return votes;
}

const scenarioKey = (label: LabelledEvent['label']) =>
  label.kind === 'bot' ? `${label.scenario}${label.spoofedUserAgent ? '~spoofed' : ''}` : 'human';

/** Who used each IP (`human` or a scenario key). */
function ipOwners(events: readonly LabelledEvent[]): Map<string, Set<string>> {
  const owners = new Map<string, Set<string>>();
  for (const { event, label } of events) {
    let set = owners.get(event.request.ip);
    if (!set) owners.set(event.request.ip, (set = new Set()));
    set.add(scenarioKey(label));
  }
  return owners;
}

interface Tally {
  caught: Set<string>;
  humanIpsVotedBot: string[];
  botVotes: Vote[];
}

function tally(votes: Vote[], owners: Map<string, Set<string>>): Tally {
  const caught = new Set<string>();
  const humans = new Set<string>();
  const botVotes = votes.filter((v) => v.verdict === 'bot');
  for (const vote of botVotes) {
    for (const owner of owners.get(vote.ip) ?? []) {
      if (owner === 'human') humans.add(vote.ip);
      else caught.add(owner);
    }
  }
  return { caught, humanIpsVotedBot: [...humans], botVotes };
}

describe('account-takeover detectors on simulated traffic', () => {
  let events: LabelledEvent[];
  let owners: Map<string, Set<string>>;
  const results = new Map<string, Tally>();

  beforeAll(async () => {
    events = await collectSessionEvents(
      simulate({
        seed: 5,
        start: DEFAULT_START,
        durationMs: 2 * 24 * HOUR,
        humans: 800,
        bots: SCENARIOS.flatMap((scenario) => [
          { scenario, count: 1 },
          { scenario, count: 1, spoofUserAgent: true },
        ]),
      }),
      { secret: 'ato-spec' },
    );
    owners = ipOwners(events);
    for (const id of ATO) results.set(id, tally(await host(DETECTORS[id]!, events), owners));
  });

  it('draws no bot vote on any person', () => {
    for (const id of ATO) {
      const { humanIpsVotedBot } = results.get(id)!;
      expect({ id, humanIpsVotedBot }).toEqual({ id, humanIpsVotedBot: [] });
    }
  });

  it.each([
    ['credential-stuffing', ['credential-stuffing', 'session-rotation']],
    ['authentication-abuse', ['credential-stuffing']],
    ['low-frequency-credential-stuffing', ['low-frequency-stuffing']],
    ['ip-rotation', ['ip-rotation']],
    ['session-rotation', ['session-rotation']],
    ['persistent-ato', ['persistent-ato']],
  ])('%s catches %j, plain and with a spoofed browser', (id, scenarios) => {
    const { caught } = results.get(id)!;
    for (const scenario of scenarios) {
      expect(caught).toContain(scenario);
      expect(caught).toContain(`${scenario}~spoofed`);
    }
  });

  it('catches every account-takeover scenario and its spoofed variant', () => {
    const caught = new Set([...results.values()].flatMap((r) => [...r.caught]));
    for (const scenario of SCENARIOS) {
      expect(caught).toContain(scenario);
      expect(caught).toContain(`${scenario}~spoofed`);
    }
  });

  it('votes for every IP of a low-frequency stuffing cluster (≥ 1,000 IPs, ≤ 2 attempts each)', () => {
    const { botVotes } = results.get('low-frequency-credential-stuffing')!;
    const voted = new Set(botVotes.map((v) => v.ip));
    const { bucketMs, minIps } = resolveDetectorConfig(
      DETECTORS['low-frequency-credential-stuffing']!,
      {},
    ) as { bucketMs: number; minIps: number };
    for (const variant of ['low-frequency-stuffing', 'low-frequency-stuffing~spoofed']) {
      const attempts = new Map<string, LabelledEvent[]>();
      const failedIpsPerBucket = new Map<number, Set<string>>();
      for (const e of events) {
        if (scenarioKey(e.label) !== variant) continue;
        const ip = e.event.request.ip;
        attempts.set(ip, [...(attempts.get(ip) ?? []), e]);
        if (e.event.auth?.outcome !== 'failure') continue;
        const bucket = Math.floor(e.event.request.ts / bucketMs);
        if (!failedIpsPerBucket.has(bucket)) failedIpsPerBucket.set(bucket, new Set());
        failedIpsPerBucket.get(bucket)!.add(ip);
      }
      expect(attempts.size).toBeGreaterThanOrEqual(1_000);
      expect(Math.max(...[...attempts.values()].map((a) => a.length))).toBeLessThanOrEqual(2);
      // Every IP is voted for — the first ones of a bucket too, claimed by the attempt that
      // made the cluster big enough — except those it cannot see: an IP whose only attempt
      // succeeded (a valid combo), or one in a bucket with fewer than minIps failing IPs (the
      // campaign's last hours).
      const unexplained = [...attempts]
        .filter(([ip]) => !voted.has(ip))
        .filter(([, list]) =>
          list.some(
            (e) =>
              e.event.auth?.outcome === 'failure' &&
              failedIpsPerBucket.get(Math.floor(e.event.request.ts / bucketMs))!.size >= minIps,
          ),
        )
        .map(([ip]) => ip);
      // Measured: 0 of 1,105 (plain) and 1 of 1,860 (spoofed, a browser fingerprint people
      // share; most likely the share condition, which is not monotone, no longer held for the
      // last attempts of a bucket). At most 0.5 %.
      expect(unexplained.length).toBeLessThanOrEqual(attempts.size * 0.005);
      const share = [...attempts.keys()].filter((ip) => voted.has(ip)).length / attempts.size;
      process.stdout.write(
        `${variant}: ${attempts.size} IPs, ${(share * 100).toFixed(1)} % voted bot, ${unexplained.length} missed unexplained\n`,
      );
      expect(share).toBeGreaterThan(0.95);
    }
    // One vote per IP and cluster bucket: ids never repeat.
    expect(new Set(botVotes.map((v) => v.id)).size).toBe(botVotes.length);
  });

  it('votes for the IPs of a rotating pool', () => {
    const { botVotes } = results.get('ip-rotation')!;
    const voted = new Set(botVotes.map((v) => v.ip));
    const pool = new Set(
      events.filter((e) => scenarioKey(e.label) === 'ip-rotation').map((e) => e.event.request.ip),
    );
    const share = [...pool].filter((ip) => voted.has(ip)).length / pool.size;
    expect(share).toBeGreaterThan(0.9);
  });

  it("leaves an attacked account's owner out of its ip-rotation pool", async () => {
    const login = events.find((e) => e.event.auth && e.event.request.usernameHash)!;
    const OWNER = '198.51.100.77';
    const attempt = (i: number, ip: string, outcome: 'success' | 'failure'): LabelledEvent => ({
      ...login,
      event: {
        ...login.event,
        sessionId: `session-${ip}`,
        sessionKeyKind: 'fingerprint',
        auth: { outcome },
        request: {
          ...login.event.request,
          id: `owner-spec-${i}`,
          ip,
          ts: login.event.request.ts + i * 30_000,
          usernameHash: 'attacked-account',
        },
      },
    });
    // The owner logs in, then twelve addresses fail on the account within the hour, the owner
    // mistyping among them.
    const attack = [
      attempt(0, OWNER, 'success'),
      ...Array.from({ length: 12 }, (_, i) =>
        i === 5
          ? attempt(i + 1, OWNER, 'failure')
          : attempt(i + 1, `203.0.113.${i + 1}`, 'failure'),
      ),
    ];
    const voted = new Set(
      (await host(DETECTORS['ip-rotation']!, attack))
        .filter((v) => v.verdict === 'bot')
        .map((v) => v.ip),
    );
    expect(voted.size).toBe(11);
    expect(voted).not.toContain(OWNER);
  });

  it('gives the same bot votes in another partition layout and batch size', async () => {
    for (const id of ['credential-stuffing', 'low-frequency-credential-stuffing'] as const) {
      const again = await host(DETECTORS[id]!, events, { partitions: 3, batchSize: 137 });
      const ids = (votes: Vote[]) =>
        votes
          .filter((v) => v.verdict === 'bot')
          .map((v) => v.id)
          .sort();
      expect(ids(again)).toEqual(ids(results.get(id)!.botVotes));
    }
  });
});

describe('a legitimate login peak', () => {
  it('10× the normal login volume with a normal success rate draws no bot vote', async () => {
    const options = {
      seed: 11,
      start: DEFAULT_START,
      durationMs: 24 * HOUR,
      humans: 600,
      peakStart: DEFAULT_START + 12 * HOUR,
      peakMs: HOUR,
      factor: 10,
    };
    const events = await collectSessionEvents(simulateLoginPeak(options), { secret: 'peak' });
    const logins = (from: number, to: number) =>
      events.filter((e) => e.event.auth && e.event.request.ts >= from && e.event.request.ts < to);
    const peak = logins(options.peakStart, options.peakStart + HOUR);
    const before = logins(options.start, options.peakStart);
    const normalPerHour = before.length / 12;
    // The simulated peak is what it claims to be: ~10× the logins, the usual success rate.
    expect(extraPeakHumans(options)).toBeGreaterThan(200);
    expect(peak.length / normalPerHour).toBeGreaterThan(7);
    const success = (list: LabelledEvent[]) =>
      list.filter((e) => e.event.auth!.outcome === 'success').length / list.length;
    expect(Math.abs(success(peak) - success(before))).toBeLessThan(0.1);

    for (const id of ATO) {
      const votes = await host(DETECTORS[id]!, events);
      const bots = votes.filter((v) => v.verdict === 'bot');
      expect({ id, bots: bots.length }).toEqual({ id, bots: 0 });
      if (id === 'authentication-abuse') {
        // It worked: it judged the people it saw.
        expect(votes.filter((v) => v.verdict === 'clean').length).toBeGreaterThan(50);
      }
    }
  });
});
