import { BOT_TYPES, codecs, type ManualDecisionEntry, type ProfileEntry } from '@moat/contracts';
import { parseDuration, parseProfileFile } from './profile-file';

const NOW = 1_764_000_000_000;
const base = { name: 'api', reaction: 'deny' };

/** The problems of a file holding one profile. */
const problemsOf = (profile: Record<string, unknown>) =>
  parseProfileFile({ profiles: [profile] }, NOW).problems;
const manualProblems = (entry: Record<string, unknown>) =>
  parseProfileFile({ manual: [entry] }, NOW).problems;

describe('parseProfileFile', () => {
  it('fills the defaults: every bot type, medium sensitivity, one hour, every application', () => {
    const { entries, problems } = parseProfileFile({ profiles: [base] }, NOW);
    expect(problems).toEqual([]);
    expect(entries).toEqual([
      {
        v: 1,
        kind: 'profile',
        updatedAt: NOW,
        profile: {
          name: 'api',
          botTypes: [...BOT_TYPES],
          sensitivity: 'medium',
          threshold: 0.7,
          reaction: 'deny',
          durationMs: 3_600_000,
          applications: ['*'],
        },
      },
    ]);
  });

  it('takes a named sensitivity or a threshold, and durations in words', () => {
    const { entries } = parseProfileFile(
      {
        profiles: [
          { ...base, name: 'a', sensitivity: 'paranoid', duration: '90m' },
          {
            ...base,
            name: 'b',
            threshold: 0.55,
            durationMs: 5000,
            applications: ['*.shop.example'],
          },
        ],
      },
      NOW,
    );
    const [a, b] = entries as ProfileEntry[];
    expect(a.profile).toMatchObject({
      sensitivity: 'paranoid',
      threshold: 0.3,
      durationMs: 5_400_000,
    });
    expect(b.profile).toMatchObject({ threshold: 0.55, durationMs: 5000 });
    expect(b.profile.sensitivity).toBeUndefined();
    for (const entry of entries) expect(codecs.config.check(entry).ok).toBe(true);
  });

  it.each([
    [
      'an unknown bot type',
      { botTypes: ['scraping', 'scrapers'] },
      '/profiles/0/botTypes/1',
      /unknown bot type "scrapers"; expected one of suspicious-api-activity/,
    ],
    ['an empty bot type list', { botTypes: [] }, '/profiles/0/botTypes', /non-empty list/],
    [
      'a bot type listed twice',
      { botTypes: ['scraping', 'scraping'] },
      '/profiles/0/botTypes/1',
      /listed twice/,
    ],
    [
      'a threshold above 1',
      { threshold: 1.2 },
      '/profiles/0/threshold',
      /out of range: use a number in \(0, 1\]/,
    ],
    ['a threshold of 0', { threshold: 0 }, '/profiles/0/threshold', /out of range/],
    [
      'a threshold that is not a number',
      { threshold: 'high' },
      '/profiles/0/threshold',
      /out of range/,
    ],
    [
      'an unknown sensitivity',
      { sensitivity: 'extreme' },
      '/profiles/0/sensitivity',
      /expected one of low \(0.9\), medium \(0.7\), high \(0.5\), paranoid \(0.3\)/,
    ],
    [
      'a threshold contradicting the sensitivity',
      { sensitivity: 'high', threshold: 0.8 },
      '/profiles/0/threshold',
      /contradicts sensitivity "high" \(0.5\)/,
    ],
    [
      'a malformed application pattern',
      { applications: ['shop.example', 'shop example'] },
      '/profiles/0/applications/1',
      /malformed application pattern "shop example"/,
    ],
    [
      'an application that is not text',
      { applications: [42] },
      '/profiles/0/applications/0',
      /malformed application pattern 42/,
    ],
    ['no applications', { applications: [] }, '/profiles/0/applications', /non-empty list/],
    [
      'an unknown reaction',
      { reaction: 'block' },
      '/profiles/0/reaction',
      /one of monitor, graylist, deny/,
    ],
    ['a missing reaction', { reaction: undefined }, '/profiles/0/reaction', /required/],
    ['a malformed name', { name: 'my profile' }, '/profiles/0/name', /letters, digits/],
    ['a malformed duration', { duration: 'an hour' }, '/profiles/0/duration', /30m, 1h or 7d/],
    ['a too short duration', { durationMs: 10 }, '/profiles/0/durationMs', /≥ 1000/],
    [
      'both duration forms',
      { duration: '1h', durationMs: 3_600_000 },
      '/profiles/0/durationMs',
      /not both/,
    ],
    ['a misspelt field', { treshold: 0.5 }, '/profiles/0/treshold', /unknown field/],
  ])('rejects %s, naming the field', (_case, overrides, field, reason) => {
    const problems = problemsOf({ ...base, ...overrides });
    expect(problems).toHaveLength(1);
    expect(problems[0].field).toBe(field);
    expect(problems[0].reason).toMatch(reason);
  });

  it('rejects a profile name defined twice, and reports every problem of the file at once', () => {
    const { entries, problems } = parseProfileFile(
      {
        profiles: [base, { ...base, threshold: 3 }, base, 'nope'],
        manual: [{ subject: '10.0.0.5/8', action: 'deny' }],
        extra: true,
      },
      NOW,
    );
    expect(problems.map((p) => p.field)).toEqual([
      '/extra',
      '/profiles/1/threshold',
      '/profiles/2/name',
      '/profiles/3',
      '/manual/0/subject',
    ]);
    expect(entries).toHaveLength(1);
  });

  it('turns manual entries into canonical config entries with their expiry', () => {
    const { entries, problems } = parseProfileFile(
      {
        manual: [
          { subject: '2001:DB8::/32', action: 'allow', note: 'partner' },
          { subject: '203.0.113.9', action: 'deny', for: '12h' },
          { subject: '198.51.100.7', action: 'graylist', expiresAt: '2026-01-01T00:00:00Z' },
        ],
      },
      NOW,
    );
    expect(problems).toEqual([]);
    const [allow, deny, gray] = entries as ManualDecisionEntry[];
    expect(allow).toEqual({
      v: 1,
      kind: 'manual-decision',
      updatedAt: NOW,
      subject: '2001:db8::/32',
      action: 'allow',
      note: 'partner',
    });
    expect(deny.expiresAt).toBe(NOW + 12 * 3_600_000);
    expect(gray.expiresAt).toBe(Date.parse('2026-01-01T00:00:00Z'));
  });

  it.each([
    [
      'a subject that is no address',
      { subject: 'shop.example', action: 'deny' },
      '/manual/0/subject',
      /not an IPv4 or IPv6 address or CIDR/,
    ],
    [
      'a CIDR with host bits',
      { subject: '10.0.0.5/8', action: 'deny' },
      '/manual/0/subject',
      /did you mean 10.0.0.0\/8/,
    ],
    [
      'an unknown action',
      { subject: '10.0.0.1', action: 'block' },
      '/manual/0/action',
      /one of deny, graylist, allow/,
    ],
    [
      'an expiry in the past',
      { subject: '10.0.0.1', action: 'deny', expiresAt: NOW - 1 },
      '/manual/0/expiresAt',
      /already past/,
    ],
    [
      'a malformed expiry',
      { subject: '10.0.0.1', action: 'deny', expiresAt: 'tomorrow' },
      '/manual/0/expiresAt',
      /ISO date-time/,
    ],
    [
      'both expiry forms',
      { subject: '10.0.0.1', action: 'deny', for: '1h', expiresAt: NOW + 1 },
      '/manual/0/for',
      /not both/,
    ],
  ])('rejects a manual entry with %s, naming the field', (_case, entry, field, reason) => {
    const problems = manualProblems(entry);
    expect(problems).toHaveLength(1);
    expect(problems[0].field).toBe(field);
    expect(problems[0].reason).toMatch(reason);
  });
});

describe('parseDuration', () => {
  it('reads the units operators write', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('7 days')).toBeUndefined();
  });
});
