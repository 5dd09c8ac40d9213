import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline } from '../testing/events';
import { userAgentFacts } from '../support/user-agent';
import { browserRelease } from './browser-releases';
import { outdatedBrowserDetector, type OutdatedBrowserConfig } from './outdated-browser.detector';

const config = resolveDetectorConfig(outdatedBrowserDetector) as OutdatedBrowserConfig;
const DAY = 86_400_000;
const judge = (userAgent: string, ts: number, baseline?: ReturnType<typeof fixedBaseline>) =>
  feed(outdatedBrowserDetector, [event({ userAgent, ts })], config, baseline).votes[0]?.vote;

const chrome = (v: number) =>
  `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`;
const release = (ua: string) => browserRelease(userAgentFacts(ua))!;

describe('outdated-browser detector', () => {
  it('dates releases with caniuse-lite data, iOS browsers by their WebKit', () => {
    expect(release(chrome(49))).toMatchObject({ agent: 'chrome', version: '49', dead: false });
    expect(new Date(release(chrome(49)).releasedAt!).getUTCFullYear()).toBe(2016);
    const crios =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1';
    expect(release(crios)).toMatchObject({ agent: 'ios_saf', version: '16.6-16.7' });
    expect(release('Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko')).toMatchObject({
      agent: 'ie',
      dead: true,
    });
  });

  it('votes bot on a Chrome UA copied years ago, with age, threshold and release as evidence', () => {
    const ts = release(chrome(49)).releasedAt! + 9 * 365 * DAY;
    const vote = judge(chrome(49), ts);
    expect(vote.verdict).toBe('bot');
    expect(vote.evidence[0]).toMatchObject({
      metric: 'browser_release_age_days',
      threshold: 1461,
      detail: expect.stringContaining('Chrome 49'),
    });
    expect(vote.evidence[0].value).toBeGreaterThan(3_000);
  });

  it('judges at event time: the same browser was current when it was released', () => {
    const at = release(chrome(49)).releasedAt! + 30 * DAY;
    expect(judge(chrome(49), at).verdict).toBe('clean');
  });

  it('votes bot on a dead browser (Internet Explorer) whatever its age', () => {
    const ie = 'Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko';
    expect(judge(ie, release(ie).releasedAt! + DAY).evidence[0].detail).toContain(
      'dead per browserslist',
    );
  });

  it('has no vote for clients that are not browsers', () => {
    expect(judge('curl/8.7.1', Date.UTC(2026, 0, 1))).toBeUndefined();
    expect(
      judge('ShopApp/5.8.0 (iPhone; iOS 18.4; Scale/3.00)', Date.UTC(2026, 0, 1)),
    ).toBeUndefined();
  });

  it('a learned baseline only gives room, up to the ceiling', () => {
    const ts = release(chrome(100)).releasedAt! + 1_700 * DAY;
    expect(judge(chrome(100), ts).verdict).toBe('bot');
    expect(judge(chrome(100), ts, fixedBaseline(1_000, 1_500)).evidence[0]).toMatchObject({
      threshold: 1826,
      baseline: 1500,
    });
    expect(judge(chrome(100), ts, fixedBaseline(1_000, 1_500)).verdict).toBe('clean');
    expect(judge(chrome(100), ts, fixedBaseline(1_000, 10)).evidence[0].threshold).toBe(1461);
  });
});
