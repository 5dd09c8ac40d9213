import {
  codecs,
  topicNames,
  type Decision,
  type DetectorId,
  type Profile,
  type Vote,
} from '@moat/contracts';
import { Emitter, type InRecord } from '@moat/stream-kit';
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
