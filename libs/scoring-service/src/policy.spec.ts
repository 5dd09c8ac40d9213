import type { ConfigEntry, ManualDecisionEntry, Profile } from '@moat/contracts';
import { ManualIndex, checkManualEntry, manualDecision } from './manual';
import { ScoringPolicy, validateConfigEntry } from './policy';
import { DEFAULT_PROFILE } from './profiles';
import { codecs, NO_EXPIRY } from '@moat/contracts';

const T = 1_764_000_000_000;
const profile = (name: string, overrides: Partial<Profile> = {}): Profile => ({
  ...DEFAULT_PROFILE,
  sensitivity: undefined,
  name,
  ...overrides,
});
const profileEntry = (p: Profile): ConfigEntry => ({
  v: 1,
  kind: 'profile',
  updatedAt: T,
  profile: p,
});
const manual = (
  subject: string,
  action: ManualDecisionEntry['action'],
  overrides: Partial<ManualDecisionEntry> = {},
): ManualDecisionEntry => ({
  v: 1,
  kind: 'manual-decision',
  updatedAt: T,
  subject,
  action,
  ...overrides,
});

describe('ScoringPolicy', () => {
  it('applies the fallback profiles only while none is published', () => {
    const empty = ScoringPolicy.fromConfig([manual('10.0.0.1', 'deny')], [DEFAULT_PROFILE]);
    expect(empty.profiles).toEqual([DEFAULT_PROFILE]);
    expect(empty.published).toBe(false);
    expect(empty.manual.size).toBe(1);
    const published = ScoringPolicy.fromConfig(
      [profileEntry(profile('watch', { reaction: 'monitor' }))],
      [DEFAULT_PROFILE],
    );
    expect(published.profiles.map((p) => p.name)).toEqual(['watch']);
    expect(published.published).toBe(true);
  });

  it('orders profiles strictest first, whatever order they arrived in', () => {
    const profiles = [
      profile('monitor', { reaction: 'monitor' }),
      profile('gray', { reaction: 'graylist' }),
      profile('deny-short', { reaction: 'deny', durationMs: 60_000 }),
      profile('deny-long', { reaction: 'deny', durationMs: 7_200_000 }),
      profile('deny-long-eager', { reaction: 'deny', durationMs: 7_200_000, threshold: 0.3 }),
    ];
    const expected = ['deny-long-eager', 'deny-long', 'deny-short', 'gray', 'monitor'];
    expect(new ScoringPolicy({ profiles }).profiles.map((p) => p.name)).toEqual(expected);
    expect(
      new ScoringPolicy({ profiles: [...profiles].reverse() }).profiles.map((p) => p.name),
    ).toEqual(expected);
  });
});

describe('scoring checks of config entries', () => {
  it('refuses a threshold that contradicts the named sensitivity, naming the field', () => {
    expect(
      validateConfigEntry(profileEntry(profile('p', { sensitivity: 'high', threshold: 0.8 }))),
    ).toMatchObject({ field: '/profile/threshold', reason: expect.stringMatching(/contradicts/) });
    expect(
      validateConfigEntry(profileEntry(profile('p', { sensitivity: 'high', threshold: 0.5 }))),
    ).toBeUndefined();
  });

  it('refuses a manual subject that is not canonical or has host bits, naming the field', () => {
    expect(checkManualEntry(manual('2001:DB8::1', 'deny'))).toMatchObject({
      field: '/subject',
      reason: expect.stringMatching(/canonical form "2001:db8::1"/),
    });
    expect(checkManualEntry(manual('10.0.0.5/8', 'deny'))).toMatchObject({
      field: '/subject',
      reason: expect.stringMatching(/did you mean 10.0.0.0\/8/),
    });
    expect(checkManualEntry(manual('10.0.0.0/8', 'deny'))).toBeUndefined();
  });

  it('refuses a manual entry that expires before it was written, naming the field', () => {
    expect(checkManualEntry(manual('10.0.0.1', 'deny', { expiresAt: T }))).toMatchObject({
      field: '/expiresAt',
    });
  });
});

describe('manual entries', () => {
  const index = new ManualIndex([
    manual('198.51.100.0/24', 'allow'),
    manual('203.0.113.9', 'allow', { expiresAt: T + 1000 }),
    manual('203.0.113.10', 'deny', { expiresAt: T + 500 }),
    manual('2001:db8::/32', 'graylist'),
  ]);

  it('finds the allow covering an address, exact or by network, while in force in event time', () => {
    expect(index.allowFor('198.51.100.77', T)?.subject).toBe('198.51.100.0/24');
    expect(index.allowFor('::ffff:198.51.100.77', T)?.subject).toBe('198.51.100.0/24');
    expect(index.allowFor('203.0.113.9', T + 999)?.subject).toBe('203.0.113.9');
    expect(index.allowFor('203.0.113.9', T + 1000)).toBeUndefined();
    expect(index.allowFor('203.0.113.10', T)).toBeUndefined(); // a deny is no allow
    expect(index.allowFor('2001:db8::1', T)).toBeUndefined(); // a graylist is no allow
  });

  it('knows which subject keys manual entries own, expired or not', () => {
    expect(index.owner('203.0.113.10')?.action).toBe('deny');
    expect(index.owner('198.51.100.77')).toBeUndefined();
  });

  it('lists the entries past their expiry, earliest first', () => {
    expect(index.expiredBy(T + 499)).toEqual([]);
    expect(index.expiredBy(T + 1000).map((e) => e.subject)).toEqual([
      '203.0.113.10',
      '203.0.113.9',
    ]);
  });

  it('stands for a valid manual decision; without expiry it never expires', () => {
    const decision = manualDecision(manual('198.51.100.0/24', 'allow', { note: 'office' }));
    expect(decision).toMatchObject({
      subject: '198.51.100.0/24',
      action: 'allow',
      source: 'manual',
      profile: 'manual',
      createdAt: T,
      expiresAt: NO_EXPIRY,
      note: 'office',
    });
    expect(codecs.decisions.check(decision).ok).toBe(true);
  });
});
