import { DEFAULT_PROFILE } from '@moat/scoring-service';
import { parseProfiles } from './profile-file';

describe('--profile', () => {
  it('takes one profile or an array', () => {
    expect(parseProfiles(JSON.stringify(DEFAULT_PROFILE), 'p.json')).toEqual([DEFAULT_PROFILE]);
    const two = [DEFAULT_PROFILE, { ...DEFAULT_PROFILE, name: 'strict', threshold: 0.5 }];
    expect(parseProfiles(JSON.stringify(two), 'p.json')).toEqual(two);
  });

  it('names the file, the profile and the field that is wrong', () => {
    const error = (value: unknown) => {
      try {
        parseProfiles(typeof value === 'string' ? value : JSON.stringify(value), 'p.json');
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(error('{')).toMatch(/^p\.json: not valid JSON/);
    expect(error([])).toBe('p.json: the array holds no profile');
    expect(error({ ...DEFAULT_PROFILE, threshold: 1.5 })).toBe(
      'p.json: profile: /threshold must be <= 1',
    );
    expect(
      error([DEFAULT_PROFILE, { ...DEFAULT_PROFILE, name: 'x', botTypes: ['robots'] }]),
    ).toMatch(/^p\.json: profile \[1\]: \/botTypes\/0 must be one of suspicious-api-activity/);
    expect(error({ ...DEFAULT_PROFILE, reaction: 'ban' })).toBe(
      'p.json: profile: /reaction must be one of monitor, graylist, deny',
    );
    expect(error({ ...DEFAULT_PROFILE, extra: 1 })).toBe(
      "p.json: profile: (root) must NOT have additional properties 'extra'",
    );
    const missing: Partial<typeof DEFAULT_PROFILE> = { ...DEFAULT_PROFILE };
    delete missing.threshold;
    expect(error(missing)).toMatch(/must have required property 'threshold' \(a profile has name/);
    expect(error([DEFAULT_PROFILE, DEFAULT_PROFILE])).toMatch(
      /\/name "default" is used by another profile/,
    );
  });
});
