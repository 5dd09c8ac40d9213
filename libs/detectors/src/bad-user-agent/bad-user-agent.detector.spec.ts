import { resolveDetectorConfig } from '../detector-config';
import { BROWSER_HEADERS, CHROME, event, feed, fixedBaseline, T0 } from '../testing/events';
import { badUserAgentDetector, type BadUserAgentConfig } from './bad-user-agent.detector';

const config = resolveDetectorConfig(badUserAgentDetector) as BadUserAgentConfig;
const judge = (
  userAgent: string,
  headerNames = BROWSER_HEADERS,
  c: unknown = config,
  baseline = undefined as ReturnType<typeof fixedBaseline> | undefined,
  request: Parameters<typeof event>[0] = {},
) =>
  feed(badUserAgentDetector, [event({ userAgent, headerNames, ...request })], c, baseline).votes[0]
    ?.vote;

describe('bad-user-agent detector', () => {
  it.each([
    ['curl/8.7.1', 'http-library'],
    ['python-requests/2.32.3', 'http-library'],
    ['sqlmap/1.8.11#stable (https://sqlmap.org)', 'scanner'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'search-engine'],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36',
      'browser-automation',
    ],
  ])('votes bot on %s, naming the signature and its category', (ua, category) => {
    const vote = judge(ua);
    expect(vote.verdict).toBe('bot');
    expect(vote.evidence[0]).toMatchObject({
      metric: 'user_agent_signature',
      detail: expect.stringContaining(category),
    });
  });

  it('votes bot on tools only isbot knows (gobuster), scanners in disguise (Nikto) and unparseable browser claims', () => {
    expect(judge('gobuster/3.6').verdict).toBe('bot');
    expect(
      judge('Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)').evidence[0].detail,
    ).toContain('scanner');
    expect(judge('Mozilla/5.0 (X11; Foo)').evidence[0].metric).toBe(
      'user_agent_browser_claim_unparseable',
    );
  });

  it('votes bot on a missing User-Agent', () => {
    expect(judge('').evidence[0].metric).toBe('user_agent_missing');
  });

  it('lets an app that embeds an HTTP library under its own product token pass, and what the operator allows', () => {
    expect(judge('ShopApp/5.8.0 (Android 14) okhttp/4.12.0', ['host', 'accept']).verdict).toBe(
      'clean',
    );
    expect(judge('okhttp/4.12.0', ['host']).verdict).toBe('bot');
    expect(judge('curl/8.7.1', ['host'], { ...config, allow: ['^curl/'] }).verdict).toBe('clean');
  });

  it('votes bot on a browser claim without the headers this edge is known to forward', () => {
    // Learned: nearly every browser session on this application carries all three headers.
    const vote = judge(
      CHROME,
      ['host', 'user-agent', 'accept'],
      config,
      fixedBaseline(1_000, 1, 1),
    );
    expect(vote.evidence[0]).toMatchObject({
      metric: 'browser_headers_missing',
      value: 2,
      detail: expect.stringContaining('accept-encoding, accept-language'),
    });
  });

  it('does not judge headers before the baseline shows the edge forwards them, nor on access-log records', () => {
    expect(judge(CHROME, ['host', 'user-agent', 'accept']).verdict).toBe('clean');
    expect(
      judge(CHROME, ['host', 'user-agent'], config, fixedBaseline(1_000, 1, 1), {
        partialHeaders: true,
      }).verdict,
    ).toBe('clean');
  });

  it('stops checking a header the learned baseline shows the edge does not forward', () => {
    expect(
      judge(CHROME, ['host', 'user-agent', 'accept'], config, fixedBaseline(1_000, 0, 0)).verdict,
    ).toBe('clean');
    // Learned share above forwardedShare (bots leaving it out are a minority): still checked.
    expect(
      judge(CHROME, ['host', 'user-agent', 'accept'], config, fixedBaseline(1_000, 0, 0.3)).verdict,
    ).toBe('bot');
  });

  it('holds a bot verdict for holdMs on the IP, then votes clean; repeats at most every repeatVoteMs', () => {
    const ua = (ts: number, userAgent: string) => event({ ts, userAgent });
    const { votes } = feed(
      badUserAgentDetector,
      [ua(T0, 'curl/8'), ua(T0 + 1_000, CHROME), ua(T0 + 61_000, CHROME), ua(T0 + 601_000, CHROME)],
      config,
    );
    expect(votes.map((v) => [v.event.request.ts - T0, v.vote.verdict])).toEqual([
      [0, 'bot'],
      [61_000, 'bot'],
      [601_000, 'clean'],
    ]);
  });

  it('learns which headers browser sessions carry, once per session', () => {
    const first = event({ userAgent: CHROME, headerNames: ['host', 'accept'], requestCount: 1 });
    const second = event({ userAgent: CHROME, headerNames: ['host', 'accept'], requestCount: 2 });
    const { observations } = feed(badUserAgentDetector, [first, second], config);
    expect(observations).toEqual([
      { metric: 'carries:accept', value: 1 },
      { metric: 'carries:accept-encoding', value: 0 },
      { metric: 'carries:accept-language', value: 0 },
    ]);
  });
});
