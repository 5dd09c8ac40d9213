import fc from 'fast-check';
import type { Profile } from '@moat/contracts';
import { DEFAULT_PROFILE, profileCoversApp, stricter } from './profiles';

const covering = (...applications: string[]): Profile => ({ ...DEFAULT_PROFILE, applications });

describe('profileCoversApp', () => {
  it('covers every application with *', () => {
    expect(profileCoversApp(DEFAULT_PROFILE, 'anything.example')).toBe(true);
  });

  it('matches names exactly, case-insensitively', () => {
    expect(profileCoversApp(covering('shop.example'), 'shop.example')).toBe(true);
    expect(profileCoversApp(covering('shop.example'), 'SHOP.Example')).toBe(true);
    expect(profileCoversApp(covering('shop.example'), 'shop.example.evil')).toBe(false);
    expect(profileCoversApp(covering('shop.example'), 'www.shop.example')).toBe(false);
  });

  it('treats * as any run of characters and nothing else as special', () => {
    expect(profileCoversApp(covering('*.shop.example'), 'api.shop.example')).toBe(true);
    expect(profileCoversApp(covering('*.shop.example'), 'shop.example')).toBe(false);
    expect(profileCoversApp(covering('shop.*'), 'shop.de')).toBe(true);
    expect(profileCoversApp(covering('shop.example'), 'shopXexample')).toBe(false);
    expect(profileCoversApp(covering('a+b.example'), 'aab.example')).toBe(false);
    expect(profileCoversApp(covering('a+b.example'), 'a+b.example')).toBe(true);
    expect(profileCoversApp(covering('api-(v1)'), 'api-(v1)')).toBe(true);
  });

  it('covers an application listed among several', () => {
    expect(profileCoversApp(covering('a.example', 'b.example'), 'b.example')).toBe(true);
    expect(profileCoversApp(covering('a.example', 'b.example'), 'c.example')).toBe(false);
  });

  it('always covers an application named literally, whatever characters it holds', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !s.includes('*')),
        (app) => {
          expect(profileCoversApp(covering(app), app)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('stricter', () => {
  it('ranks deny over graylist over monitor', () => {
    expect(stricter('monitor', 'deny')).toBe('deny');
    expect(stricter('deny', 'graylist')).toBe('deny');
    expect(stricter('graylist', 'monitor')).toBe('graylist');
    expect(stricter('graylist', 'graylist')).toBe('graylist');
  });
});
