import {
  codecs,
  topicNames,
  type Decision,
  type DetectorId,
  type ManualDecisionEntry,
  type Profile,
  type Vote,
} from '@moat/contracts';
import { Emitter, type InRecord } from '@moat/stream-kit';
import { ScoringPolicy } from './policy';
import { DEFAULT_PROFILE } from './profiles';
import { ScoreProcessor, type ScoringOptions, type SubjectState } from './score.processor';

const topics = topicNames('unit');
const T = 1_764_000_000_000;
const HOUR = 3_600_000;
const IP = '203.0.113.7';

function vote(
  detector: DetectorId,
  verdict: 'bot' | 'clean',
  ts: number,
  overrides: Partial<Vote> = {},
): Vote {
  return {
    v: 1,
    id: `${detector}:${ts}`,
    detector,
    ts,
    app: 'shop.example',
    ip: IP,
    verdict,
    score: verdict === 'bot' ? 1 : 0,
    evidence: [{ metric: `${detector}-metric`, value: 1 }],
    eventId: `e-${ts}`,
    ...overrides,
  };
}

/** Feeds votes through one processor with state per subject, as keyedHandler would. */
function score(votes: Vote[], options: Partial<ScoringOptions> = {}) {
  const processor = new ScoreProcessor({
    profiles: [DEFAULT_PROFILE],
    verdictHorizonMs: HOUR,
    // Unit weights: these tests are about the mechanics, not the calibrated table.
    weights: {},
    ...options,
  });
  const states = new Map<string, SubjectState>();
  const out = new Emitter(topics);
  votes.forEach((value, offset) => {
    const record: InRecord<Vote> = {
      topic: 'in',
      partition: 0,
      offset: String(offset),
      key: value.ip,
      value,
      timestamp: 0,
    };
    states.set(value.ip, processor.process(record, states.get(value.ip), out));
  });
  const messages = out.drain();
  const decisions = messages.map((m) => JSON.parse(m.value!.toString()) as Decision);
  return { decisions, messages, states, processor };
}

const profile = (overrides: Partial<Profile>): Profile => ({ ...DEFAULT_PROFILE, ...overrides });

describe('ScoreProcessor', () => {
  it('decides when a bot type reaches the threshold; the decision expires durationMs after the vote', () => {
    const { decisions, messages } = score([vote('request-rate', 'bot', T)]);
    expect(decisions).toHaveLength(1);
    expect(messages[0].key).toBe(IP);
    expect(messages[0].topic).toBe('unit.decisions.v1');
    expect(decisions[0]).toEqual({
      v: 1,
      subject: IP,
      action: 'deny',
      source: 'auto',
      botTypes: [
        'suspicious-api-activity',
        'security-crawler',
        'scraping',
        'unrestricted-resource-consumption',
      ],
      confidence: 1,
      detectors: [
        {
          detector: 'request-rate',
          weight: 1,
          evidence: [{ metric: 'request-rate-metric', value: 1 }],
        },
      ],
      profile: 'default',
      app: 'shop.example',
      createdAt: T,
      expiresAt: T + HOUR,
    });
    expect(codecs.decisions.check(decisions[0]).ok).toBe(true);
  });

  it('does not decide below the threshold', () => {
    const { decisions, states } = score([
      vote('request-uniqueness', 'clean', T),
      vote('query-abuse', 'clean', T),
      vote('excessive-response-consumption', 'clean', T),
      vote('request-rate', 'bot', T + 1),
    ]);
    // scraping 1/3, unrestricted-resource-consumption 1/2: both under 0.7.
    expect(decisions).toEqual([]);
    expect(Object.keys(states.get(IP)!.verdicts).sort()).toEqual(
      [
        'excessive-response-consumption',
        'query-abuse',
        'request-rate',
        'request-uniqueness',
      ].sort(),
    );
  });

  it('does not repeat a decision for repeated votes, and extends only once the expiry moves by a tenth of the duration', () => {
    const { decisions } = score([
      vote('request-rate', 'bot', T),
      vote('request-rate', 'bot', T), // a redelivered duplicate
      vote('request-rate', 'bot', T + 60_000),
      vote('request-rate', 'bot', T + 359_999),
      vote('request-rate', 'bot', T + 360_000),
      vote('request-rate', 'bot', T + 400_000),
    ]);
    expect(decisions.map((d) => [d.createdAt, d.expiresAt])).toEqual([
      [T, T + HOUR],
      [T, T + 360_000 + HOUR],
    ]);
  });

  it('decides afresh after the decision expired', () => {
    const { decisions } = score(
      [vote('request-rate', 'bot', T), vote('request-rate', 'bot', T + HOUR + 5)],
      {
        verdictHorizonMs: 10 * HOUR,
      },
    );
    expect(decisions.map((d) => [d.createdAt, d.expiresAt])).toEqual([
      [T, T + HOUR],
      [T + HOUR + 5, T + 2 * HOUR + 5],
    ]);
  });

  it('lets a later clean verdict of the same detector replace its bot verdict', () => {
    const { decisions } = score([
      vote('request-rate', 'clean', T),
      vote('request-uniqueness', 'clean', T),
      vote('request-rate', 'bot', T + 1, { app: 'other.example' }),
      vote('request-rate', 'clean', T + 2),
      vote('request-uniqueness', 'bot', T + 3),
    ]);
    // After the last vote: request-rate clean, request-uniqueness bot → scraping 1/2, crawler 1/2, SAA 1/2.
    expect(decisions.map((d) => d.createdAt)).toEqual([T + 1]);
  });

  it('keeps the newer verdict when an older vote arrives late', () => {
    const { states } = score([
      vote('request-rate', 'clean', T + 10),
      vote('request-rate', 'bot', T),
    ]);
    expect(states.get(IP)!.verdicts['request-rate']).toMatchObject({
      verdict: 'clean',
      ts: T + 10,
    });
  });

  it('emits nothing for a monitor profile, but still records the verdicts', () => {
    const { decisions, states } = score([vote('request-rate', 'bot', T)], {
      profiles: [profile({ name: 'watch', reaction: 'monitor' })],
    });
    expect(decisions).toEqual([]);
    expect(states.get(IP)!.verdicts['request-rate']?.verdict).toBe('bot');
    expect(states.get(IP)!.decision).toBeUndefined();
  });

  it('acts only for the applications a profile covers', () => {
    const shopOnly = profile({ name: 'shop', applications: ['shop.*'] });
    const { decisions } = score(
      [
        vote('request-rate', 'bot', T, { app: 'api.example' }),
        vote('request-rate', 'bot', T + 1, { app: 'shop.example' }),
      ],
      { profiles: [shopOnly] },
    );
    expect(decisions.map((d) => [d.app, d.profile])).toEqual([['shop.example', 'shop']]);
  });

  it('acts only on the bot types a profile selects', () => {
    const ato = profile({ name: 'ato', botTypes: ['account-takeover'] });
    expect(score([vote('request-rate', 'bot', T)], { profiles: [ato] }).decisions).toEqual([]);
    const { decisions } = score([vote('credential-stuffing', 'bot', T)], { profiles: [ato] });
    expect(decisions[0]).toMatchObject({ botTypes: ['account-takeover'], profile: 'ato' });
  });

  it('applies the strictest reaction among the profiles that trigger', () => {
    const gray = profile({ name: 'gray', reaction: 'graylist', threshold: 0.5 });
    const deny = profile({ name: 'deny', reaction: 'deny', threshold: 0.9, durationMs: 2 * HOUR });
    const { decisions } = score([vote('request-rate', 'bot', T)], { profiles: [gray, deny] });
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      action: 'deny',
      profile: 'deny',
      expiresAt: T + 2 * HOUR,
    });
  });

  it('escalates an active graylist to deny at once, keeping its creation time', () => {
    const gray = profile({ name: 'gray', reaction: 'graylist', threshold: 0.3 });
    const deny = profile({ name: 'deny', reaction: 'deny', threshold: 0.9 });
    const { decisions } = score(
      [
        vote('request-rate', 'bot', T, { score: 0.5 }),
        vote('request-rate', 'bot', T + 1_000), // score 1: now the deny profile triggers too
      ],
      { profiles: [gray, deny] },
    );
    expect(decisions.map((d) => [d.action, d.createdAt, d.expiresAt])).toEqual([
      ['graylist', T, T + HOUR],
      ['deny', T, T + 1_000 + HOUR],
    ]);
  });

  it('does not downgrade an active deny to a graylist before it expires', () => {
    const gray = profile({ name: 'gray', reaction: 'graylist', threshold: 0.3 });
    const deny = profile({ name: 'deny', reaction: 'deny', threshold: 0.9 });
    const { decisions } = score(
      [
        vote('request-rate', 'bot', T),
        vote('request-rate', 'bot', T + 400_000, { score: 0.5 }), // only the graylist profile triggers now
        vote('request-rate', 'bot', T + HOUR + 1, { score: 0.5 }), // the deny has expired
      ],
      { profiles: [gray, deny] },
    );
    expect(decisions.map((d) => [d.action, d.createdAt, d.expiresAt])).toEqual([
      ['deny', T, T + HOUR],
      ['graylist', T + HOUR + 1, T + 2 * HOUR + 1],
    ]);
  });

  it('reports the confidence and every contributing detector with its evidence', () => {
    const { decisions } = score(
      [
        vote('request-uniqueness', 'clean', T),
        vote('request-rate', 'bot', T + 1),
        vote('wide-scope', 'bot', T + 2),
      ],
      { profiles: [profile({ threshold: 0.6, botTypes: ['scraping', 'security-crawler'] })] },
    );
    expect(decisions).toHaveLength(1); // 1/2 after the second vote, 2/3 after the third
    const last = decisions[0];
    expect(last.confidence).toBeCloseTo(2 / 3);
    expect(last.detectors.map((d) => d.detector).sort()).toEqual(['request-rate', 'wide-scope']);
    expect(last.detectors.find((d) => d.detector === 'wide-scope')!.evidence).toEqual([
      { metric: 'wide-scope-metric', value: 1 },
    ]);
  });

  it('keeps state per subject', () => {
    const { decisions } = score([
      vote('request-rate', 'bot', T),
      vote('request-rate', 'bot', T, { ip: '2001:db8::1' }),
    ]);
    expect(decisions.map((d) => d.subject)).toEqual([IP, '2001:db8::1']);
  });

  it('keeps state twice as long as the longest of the durations and the horizon', () => {
    const long = profile({ durationMs: 5 * HOUR });
    expect(
      new ScoreProcessor({ profiles: [DEFAULT_PROFILE, long], verdictHorizonMs: HOUR }).stateTtlMs,
    ).toBe(10 * HOUR);
    expect(new ScoreProcessor({ profiles: [], verdictHorizonMs: HOUR }).stateTtlMs).toBe(2 * HOUR);
  });
});

/** Runs votes through one processor; a function in the list changes the processor in between. */
function run(
  steps: (Vote | ((p: ScoreProcessor) => void))[],
  options: Partial<ScoringOptions> = {},
) {
  const processor = new ScoreProcessor({
    profiles: [DEFAULT_PROFILE],
    verdictHorizonMs: HOUR,
    sideOutputs: true,
    weights: {},
    ...options,
  });
  const states = new Map<string, SubjectState>();
  const out = new Emitter(topics);
  let offset = 0;
  for (const step of steps) {
    if (typeof step === 'function') {
      step(processor);
      continue;
    }
    const record: InRecord<Vote> = {
      topic: 'in',
      partition: 0,
      offset: String(offset++),
      key: step.ip,
      value: step,
      timestamp: 0,
    };
    states.set(step.ip, processor.process(record, states.get(step.ip), out));
  }
  const messages = out.drain();
  const side = processor.takeSideOutputs(out);
  const decisions = messages.map((m) =>
    m.value === null ? null : (JSON.parse(m.value.toString()) as Decision),
  );
  return { decisions, messages, states, side, processor };
}

const manualEntry = (
  subject: string,
  action: ManualDecisionEntry['action'],
  expiresAt?: number,
): ManualDecisionEntry => ({
  v: 1,
  kind: 'manual-decision',
  updatedAt: T - 1,
  subject,
  action,
  ...(expiresAt !== undefined ? { expiresAt } : {}),
});
const policyOf =
  (profiles: Profile[], manual: ManualDecisionEntry[] = []) =>
  (p: ScoreProcessor) =>
    p.setPolicy(new ScoringPolicy({ profiles, manual }));

describe('ScoreProcessor with live profiles and manual entries', () => {
  it('applies a profile change from the next vote on', () => {
    const { decisions } = run([
      policyOf([profile({ name: 'p', reaction: 'monitor' })]),
      vote('request-rate', 'bot', T, { ip: '203.0.113.1' }),
      policyOf([profile({ name: 'p', reaction: 'graylist' })]),
      vote('request-rate', 'bot', T + 1, { ip: '203.0.113.2' }),
      policyOf([profile({ name: 'p', reaction: 'deny' })]),
      vote('request-rate', 'bot', T + 2, { ip: '203.0.113.2' }), // escalates
      vote('request-rate', 'bot', T + 3, { ip: '203.0.113.3' }),
    ]);
    expect(decisions.map((d) => [d!.subject, d!.action, d!.createdAt])).toEqual([
      ['203.0.113.2', 'graylist', T + 1],
      ['203.0.113.2', 'deny', T + 1],
      ['203.0.113.3', 'deny', T + 3],
    ]);
  });

  it('applies the strictest reaction whatever order the profiles were published in', () => {
    const gray = profile({
      name: 'gray',
      reaction: 'graylist',
      threshold: 0.5,
      durationMs: 5 * HOUR,
    });
    const deny = profile({ name: 'deny', reaction: 'deny', threshold: 0.9 });
    for (const order of [
      [gray, deny],
      [deny, gray],
    ]) {
      const { decisions } = run([policyOf(order), vote('request-rate', 'bot', T)]);
      expect(decisions.map((d) => [d!.action, d!.profile, d!.expiresAt])).toEqual([
        ['deny', 'deny', T + HOUR],
      ]);
    }
  });

  it('lets a manual allow beat an automatic deny, exact or by network, while it is in force in event time', () => {
    const { decisions, states } = run([
      policyOf(
        [DEFAULT_PROFILE],
        [manualEntry('203.0.113.0/24', 'allow', T + 1000), manualEntry('2001:db8::/32', 'allow')],
      ),
      vote('request-rate', 'bot', T),
      vote('request-rate', 'bot', T, { ip: '2001:db8::7' }),
      vote('request-rate', 'bot', T + 999),
      vote('request-rate', 'bot', T + 1000), // the allow has expired
    ]);
    expect(decisions.map((d) => [d!.subject, d!.action, d!.createdAt])).toEqual([
      [IP, 'deny', T + 1000],
    ]);
    expect(states.get('2001:db8::7')!.decision).toBeUndefined();
  });

  it('lets a manual entry own its subject: no automatic decision under that key, ours forgotten with its timer', () => {
    const { decisions, states, side } = run([
      vote('request-rate', 'bot', T),
      policyOf([DEFAULT_PROFILE], [manualEntry(IP, 'graylist')]),
      vote('request-rate', 'bot', T + 400_000),
    ]);
    expect(decisions.map((d) => d!.action)).toEqual(['deny']);
    expect(states.get(IP)!.decision).toBeUndefined();
    expect(side.timers.get(IP)).toBeNull();

    const after = run([
      policyOf([DEFAULT_PROFILE], [manualEntry(IP, 'graylist')]),
      vote('request-rate', 'bot', T),
      policyOf([DEFAULT_PROFILE], []), // the manual entry was deleted
      vote('request-rate', 'bot', T + 1000),
    ]);
    expect(after.decisions.map((d) => [d!.action, d!.createdAt])).toEqual([['deny', T + 1000]]);
  });

  it('publishes under the canonical form of the address', () => {
    const { messages, decisions } = run([
      vote('request-rate', 'bot', T, { ip: '2001:DB8:0:0::1' }),
    ]);
    expect(messages[0].key).toBe('2001:db8::1');
    expect(decisions[0]!.subject).toBe('2001:db8::1');
  });

  it('records a detected bot for the registry: activity, sessions, requests, types and contributions', () => {
    const { side } = run(
      [
        vote('request-uniqueness', 'clean', T - 5000, { sessionId: 's1' }),
        vote('request-rate', 'clean', T - 4000, { sessionId: 's1', eventId: 'e1' }),
        vote('query-abuse', 'clean', T - 4000, { sessionId: 's1', eventId: 'e1' }),
        vote('request-rate', 'bot', T, { sessionId: 's2', eventId: 'e2' }),
        vote('wide-scope', 'bot', T + 10, { sessionId: 's2', eventId: 'e3' }),
        vote('request-rate', 'bot', T + 20, { sessionId: 's3', eventId: 'e4' }),
      ],
      { profiles: [profile({ threshold: 0.5, botTypes: ['security-crawler', 'scraping'] })] },
    );
    const bot = side.bots.get(IP)!;
    expect(bot).toMatchObject({
      subject: IP,
      epoch: T - 5000,
      firstSeen: T - 5000,
      lastSeen: T + 20,
      detectedAt: T + 10, // 2 of 4 crawler detectors: 0.5
      requests: 3, // request-rate judged three requests
      votes: 6,
      sessions: 3,
      recentSessions: ['s1', 's2', 's3'],
      apps: ['shop.example'],
      botTypes: ['security-crawler', 'scraping'],
      profiles: ['default'],
      decision: { action: 'deny', profile: 'default', createdAt: T + 10, expiresAt: T + 10 + HOUR },
    });
    const rate = bot.detectors.find((d) => d.detector === 'request-rate')!;
    expect(rate.verdict).toBe('bot');
    expect(rate.contributions.scraping).toBeCloseTo(1 / 4);
    expect(rate.contributions['security-crawler']).toBeCloseTo(1 / 4);
    expect(rate.evidence).toEqual([{ metric: 'request-rate-metric', value: 1 }]);
    expect(bot.detectors.find((d) => d.detector === 'query-abuse')).toMatchObject({
      verdict: 'clean',
      contributions: {},
    });
    expect(bot.confidence).toBeCloseTo(0.5);
  });

  it('collects statistics and expiry timers, moving the timer when a decision is extended', () => {
    const { side } = run([
      vote('request-rate', 'bot', T),
      vote('request-rate', 'bot', T + 400_000),
    ]);
    expect(side.timers.get(IP)).toBe(T + 400_000 + HOUR);
    const metrics = side.stats.map((s) => s.metric);
    expect(metrics.filter((m) => m === 'bots')).toHaveLength(2);
    expect(metrics).toContain('bots:scraping');
    expect(metrics).not.toContain('bots:account-takeover');
    expect(side.stats.filter((s) => s.metric === 'denylisted')).toEqual([
      { metric: 'denylisted', member: IP, from: T, to: T + HOUR - 1 },
      { metric: 'denylisted', member: IP, from: T + 400_000, to: T + 400_000 + HOUR - 1 },
    ]);
  });

  it('records a bot a monitor profile detects, with no decision and no timer', () => {
    const { side, decisions } = run([vote('request-rate', 'bot', T)], {
      profiles: [profile({ name: 'watch', reaction: 'monitor' })],
    });
    expect(decisions).toEqual([]);
    expect(side.timers.size).toBe(0);
    expect(side.bots.get(IP)!.decision).toBeUndefined();
    expect(side.stats.map((s) => s.metric)).toContain('bots');
    expect(side.stats.map((s) => s.metric)).not.toContain('denylisted');
  });

  it('collects nothing for a subject that was never detected', () => {
    const { side } = run([vote('request-rate', 'clean', T)]);
    expect(side).toEqual({ timers: new Map(), bots: new Map(), stats: [] });
  });
});
