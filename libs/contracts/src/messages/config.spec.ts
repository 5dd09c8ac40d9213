import { codecs } from '../codec';
import { configKey, configKindOf, SENSITIVITIES, type ConfigEntry, type Profile } from './config';

const profile: Profile = {
  name: 'api',
  botTypes: ['scraping'],
  threshold: 0.5,
  reaction: 'deny',
  durationMs: 3_600_000,
  applications: ['shop.example', '*.shop.example', '[2001:db8::1]:8443'],
};
const profileEntry = (overrides: Record<string, unknown>) => ({
  v: 1,
  kind: 'profile',
  updatedAt: 1,
  profile: { ...profile, ...overrides },
});
const manual = (overrides: Record<string, unknown> = {}) => ({
  v: 1,
  kind: 'manual-decision',
  updatedAt: 1,
  subject: '198.51.100.0/24',
  action: 'allow',
  ...overrides,
});
const reason = (value: unknown) => {
  const checked = codecs.config.check(value);
  return checked.ok ? 'ok' : checked.reason;
};

describe('config entries', () => {
  it('accepts a profile and a manual entry', () => {
    expect(reason(profileEntry({}))).toBe('ok');
    expect(reason(profileEntry({ sensitivity: 'high', description: 'x' }))).toBe('ok');
    expect(reason(manual({ expiresAt: 2, note: 'office' }))).toBe('ok');
  });

  it('names the profile field that is wrong', () => {
    expect(reason(profileEntry({ botTypes: ['scraping', 'scrapers'] }))).toMatch(
      /\/profile\/botTypes\/1 must be equal to one of the allowed values/,
    );
    expect(reason(profileEntry({ threshold: 1.5 }))).toMatch(/\/profile\/threshold must be <= 1/);
    expect(reason(profileEntry({ threshold: 0 }))).toMatch(/\/profile\/threshold must be > 0/);
    expect(reason(profileEntry({ applications: ['shop example'] }))).toMatch(
      /\/profile\/applications\/0 must match pattern/,
    );
    expect(reason(profileEntry({ sensitivity: 'extreme' }))).toMatch(/\/profile\/sensitivity/);
    expect(reason(profileEntry({ reaction: 'block' }))).toMatch(/\/profile\/reaction/);
    expect(reason(profileEntry({ durationMs: 10 }))).toMatch(
      /\/profile\/durationMs must be >= 1000/,
    );
  });

  it('names the manual entry field that is wrong, not a profile field', () => {
    expect(reason(manual({ action: 'nuke' }))).toMatch(
      /\/action must be equal to one of the allowed values/,
    );
    expect(reason(manual({ subject: 'not-an-ip' }))).toMatch(/\/subject must match pattern/);
    expect(reason(manual({ extra: 1 }))).toMatch(/must NOT have additional properties 'extra'/);
  });

  it('rejects an unknown kind by its field', () => {
    expect(reason({ v: 1, kind: 'detector', updatedAt: 1 })).toMatch(/\/kind must be equal to one/);
  });

  it('keys entries by kind and name', () => {
    expect(configKey(profileEntry({}) as ConfigEntry)).toBe('profile:api');
    expect(configKey(manual() as ConfigEntry)).toBe('manual-decision:198.51.100.0/24');
    expect(configKindOf('manual-decision:1.2.3.4')).toBe('manual-decision');
    expect(configKindOf('weights:x')).toBeUndefined();
  });

  it('orders sensitivities from reluctant to eager', () => {
    const thresholds = ['low', 'medium', 'high', 'paranoid'].map(
      (s) => SENSITIVITIES[s as keyof typeof SENSITIVITIES],
    );
    expect([...thresholds].sort((a, b) => b - a)).toEqual(thresholds);
  });
});
