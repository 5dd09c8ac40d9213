import { collectSessionEvents, simulate } from '@moat/simulator';
import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import { runDetector } from '../testing/simulated-traffic';
import { queryAbuseDetector, type QueryAbuseConfig } from './query-abuse.detector';

const config = resolveDetectorConfig(queryAbuseDetector) as QueryAbuseConfig;
const page = (i: number, extra: Record<string, string> = {}) =>
  event({
    ts: T0 + i * 500,
    path: '/api/search',
    route: '/api/search',
    query: { q: 'tv', page: String(i), ...extra },
  });
/** Page numbers in no progression (steps 37, 37, −64, …): volume without enumeration. */
const scattered = (i: number) => (i * 37) % 101;
/** Product detail requests for these ids, 400 ms apart. */
const products = (ids: number[], ip = '203.0.113.7') =>
  ids.map((id, i) => event({ ts: T0 + i * 400, path: `/api/products/${id}`, ip }));
const progression = (first: number, step: number, length: number) =>
  Array.from({ length }, (_, i) => first + i * step);
const enumeration = (votes: ReturnType<typeof feed>['bots']) =>
  votes.flatMap((v) => v.vote.evidence).filter((e) => e.metric === 'enumeration_run');

describe('query-abuse detector', () => {
  it('votes bot when one parameter is walked through threshold values, naming endpoint and parameter', () => {
    const { bots } = feed(
      queryAbuseDetector,
      Array.from({ length: 80 }, (_, i) => page(scattered(i))),
      config,
    );
    expect(bots[0].vote.evidence).toHaveLength(1);
    expect(bots[0].vote.evidence[0]).toMatchObject({
      metric: 'single_parameter_variations',
      value: 60,
      threshold: 60,
      detail: expect.stringContaining('GET /api/search varying page'),
    });
  });

  it('counts path placeholders as parameters (ids enumerated)', () => {
    const ids = Array.from({ length: 70 }, (_, i) =>
      event({ ts: T0 + i * 300, path: `/api/products/${scattered(i) + 1}` }),
    );
    expect(feed(queryAbuseDetector, ids, config).bots[0].vote.evidence[0]).toMatchObject({
      metric: 'single_parameter_variations',
      detail: expect.stringContaining('{id}@3'),
    });
  });

  it('does not count requests that change several parameters at once', () => {
    const mixed = Array.from({ length: 80 }, (_, i) => page(scattered(i), { q: `term${i}` }));
    expect(feed(queryAbuseDetector, mixed, config).bots).toEqual([]);
  });

  it('votes clean on a person paging a few times', () => {
    const { votes } = feed(
      queryAbuseDetector,
      Array.from({ length: 8 }, (_, i) => page(i)),
      config,
    );
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('learns per endpoint, only counts under the prior, and a flood cannot lift the limit past the ceiling', () => {
    const many = Array.from({ length: 200 }, (_, i) => page(scattered(i)));
    const observed = feed(queryAbuseDetector, many, config).observations.filter(
      (o) => o.metric === 'param_variations',
    );
    expect(observed.length).toBeGreaterThan(0);
    expect(
      observed.every((o) => o.endpoint === 'GET /api/search' && o.value < config.threshold),
    ).toBe(true);
    const lifted = feed(queryAbuseDetector, many, config, fixedBaseline(10_000, 1_000));
    expect(lifted.bots[0].vote.evidence[0]).toMatchObject({
      threshold: config.ceiling,
      baseline: 1000,
    });
  });

  describe('systematic enumeration', () => {
    it.each([
      ['ascending by 1', 1, 1],
      ['ascending by 7 (a fleet of 7 workers)', 120, 7],
      ['descending by 1', 900, -1],
      ['descending by 6', 900, -6],
    ])('votes bot on ids %s once the run reaches the threshold', (_, first, step) => {
      const ids = progression(first, step, config.enumerationThreshold);
      expect(feed(queryAbuseDetector, products(ids.slice(0, -1)), config).bots).toEqual([]);
      const { bots } = feed(queryAbuseDetector, products(ids), config);
      expect(bots).toHaveLength(1);
      expect(bots[0].vote.evidence).toEqual([
        {
          metric: 'enumeration_run',
          value: config.enumerationThreshold,
          threshold: config.enumerationThreshold,
          detail: expect.stringContaining(`GET /api/products/{id} stepping {id}@3 by ${step}`),
        },
      ]);
    });

    it('votes bot on pages walked one by one, even with a cache-buster changing alongside', () => {
      const pages = Array.from({ length: 12 }, (_, i) => page(i + 1, { _: String(T0 + i * 977) }));
      expect(enumeration(feed(queryAbuseDetector, pages, config).bots)[0]).toMatchObject({
        value: 10,
        detail: expect.stringContaining('GET /api/search stepping page by 1'),
      });
    });

    it("stays silent on a page polling one endpoint with jQuery's counting cache-buster", () => {
      // `_=` starts at the page's load time (epoch ms) and adds 1 per request.
      const loaded = T0 - 5 * 60_000;
      const polls = Array.from({ length: 40 }, (_, i) =>
        event({
          ts: T0 + i * 5_000,
          path: '/api/cart/count',
          route: '/api/cart/count',
          query: { _: String(loaded + i) },
        }),
      );
      expect(feed(queryAbuseDetector, polls, config).bots).toEqual([]);
      // A page polling three endpoints in turn: each sees the counter step by 3.
      const shared = polls.map((e, i) => ({
        ...e,
        request: { ...e.request, query: { _: String(loaded + 3 * i) } },
      }));
      expect(feed(queryAbuseDetector, shared, config).bots).toEqual([]);
      // The same walk by 1 over ids far from the clock is enumeration.
      const ids = polls.map((e, i) => ({
        ...e,
        request: { ...e.request, query: { _: String(i + 1) } },
      }));
      expect(enumeration(feed(queryAbuseDetector, ids, config).bots)[0]).toMatchObject({
        value: config.enumerationThreshold,
      });
    });

    it('stays silent on random ids', () => {
      let x = 12_345;
      const random = Array.from({ length: 50 }, () => (x = (x * 48_271) % 2_147_483_647) % 5_000);
      const { votes, bots } = feed(queryAbuseDetector, products(random), config);
      expect(bots).toEqual([]);
      expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
    });

    it('restarts the run at a value off the progression; a repeated request does not break it', () => {
      const broken = [...progression(1, 1, 9), 100, ...progression(101, 1, 8)];
      expect(feed(queryAbuseDetector, products(broken), config).bots).toEqual([]);
      const retried = [...progression(1, 1, 5), 5, ...progression(6, 1, 5)];
      expect(enumeration(feed(queryAbuseDetector, products(retried), config).bots)).toEqual([
        expect.objectContaining({ value: 10 }),
      ]);
    });

    it('stays silent on people paging a few result pages per search between other requests', () => {
      const visit = ['tv', 'lamp', 'desk', 'phone', 'tv'].flatMap((q, k) => [
        ...Array.from({ length: 4 }, (_, i) =>
          event({
            ts: T0 + (k * 10 + i) * 8_000,
            path: '/api/search',
            query: { q, page: String(i + 1) },
          }),
        ),
        event({ ts: T0 + (k * 10 + 5) * 8_000, path: `/api/products/${40 + k}` }),
      ]);
      const { votes, bots } = feed(queryAbuseDetector, visit, config);
      expect(bots).toEqual([]);
      expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
    });

    it('learns runs under the prior only; the learned threshold stays within [floor, ceiling]', () => {
      const walked = products(progression(1, 1, 40));
      const observed = feed(queryAbuseDetector, walked, config).observations;
      expect(observed.filter((o) => o.metric === 'enumeration_run')).toEqual([]);
      const people = feed(queryAbuseDetector, products(progression(1, 1, 6)), {
        ...config,
        learnAfter: 6,
      }).observations;
      expect(people).toContainEqual({
        metric: 'enumeration_run',
        value: 6,
        endpoint: 'GET /api/products/{id}',
      });
      const ofRun = (baseline: ReturnType<typeof fixedBaseline>) =>
        enumeration(feed(queryAbuseDetector, walked, config, baseline).bots)[0];
      expect(ofRun(fixedBaseline(10_000, 1_000))).toMatchObject({
        value: config.enumerationCeiling,
        threshold: config.enumerationCeiling,
        baseline: 1000,
      });
      expect(ofRun(fixedBaseline(10_000, 2))).toMatchObject({
        value: config.enumerationFloor,
        threshold: config.enumerationFloor,
      });
    });

    it('keeps its state bounded: one progression per followed parameter and endpoint', () => {
      const { states } = feed(queryAbuseDetector, products(progression(1, 3, 500)), config);
      const [state] = [...states.values()] as { sessions: { data: unknown }[] }[];
      expect(JSON.stringify(state).length).toBeLessThan(600);
    });

    // Per session: the spoofed variant keeps cookies, so an address's first request (no cookie
    // yet) is a session of its own and the run is in the rest.
    it('fires on every address of a distributed scraper that sent one session a run, plain and spoofed', async () => {
      const events = await collectSessionEvents(
        simulate({
          seed: 5,
          start: T0,
          durationMs: 3 * 3_600_000,
          humans: 40,
          bots: [
            { scenario: 'distributed-scraper', count: 1 },
            { scenario: 'distributed-scraper', count: 1, spoofUserAgent: true },
          ],
        }),
        { secret: 'query-abuse-spec' },
      );
      const run = runDetector(queryAbuseDetector, events);
      for (const spoofed of [false, true]) {
        const sent = new Map<string, number>();
        for (const { event: e, label } of events)
          if (label.kind === 'bot' && label.spoofedUserAgent === spoofed) {
            const key = `${e.request.ip} ${e.sessionId}`;
            sent.set(key, (sent.get(key) ?? 0) + 1);
          }
        const expected = [
          ...new Set(
            [...sent]
              .filter(([, n]) => n >= config.enumerationThreshold)
              .map(([key]) => key.split(' ')[0]),
          ),
        ];
        const voted = new Set(
          run.votes
            .filter((v) => v.vote.verdict === 'bot' && v.label.kind === 'bot')
            .filter((v) => v.label.kind === 'bot' && v.label.spoofedUserAgent === spoofed)
            .map((v) => v.event.request.ip),
        );
        expect(expected.length).toBeGreaterThan(40);
        expect(expected.filter((ip) => !voted.has(ip))).toEqual([]);
      }
      expect(run.votes.filter((v) => v.label.kind === 'human' && v.vote.verdict === 'bot')).toEqual(
        [],
      );
    });
  });
});
