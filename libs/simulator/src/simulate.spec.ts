import { createHash } from 'node:crypto';
import browserslist from 'browserslist';
import { isbot } from 'isbot';
import { SCENARIO_BOT_TYPE } from './bots';
import { TOOLS } from './clients';
import { population } from './population';
import { checkOptions, simulate } from './simulate';
import { BOT_SCENARIOS, type BotScenario, type SimulatedRequest } from './simulation.types';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 9, 5);

function digest(requests: Iterable<SimulatedRequest>): { sha: string; count: number } {
  const hash = createHash('sha256');
  let count = 0;
  for (const r of requests) {
    hash.update(JSON.stringify(r));
    hash.update('\n');
    count++;
  }
  return { sha: hash.digest('hex'), count };
}

const TOOL_AGENTS = new Set<string>(Object.values(TOOLS).map((t) => t.userAgent));
const groups = new WeakMap<SimulatedRequest[], Map<string, SimulatedRequest[]>>();
/** The requests of one scenario variant (grouped once per request list). */
function byScenario(requests: SimulatedRequest[], scenario: BotScenario, spoofed = false) {
  let group = groups.get(requests);
  if (!group) {
    group = new Map();
    for (const r of requests) {
      if (r.label.kind !== 'bot') continue;
      const key = `${r.label.scenario}:${r.label.spoofedUserAgent}`;
      if (!group.has(key)) group.set(key, []);
      group.get(key)!.push(r);
    }
    groups.set(requests, group);
  }
  return group.get(`${scenario}:${spoofed}`) ?? [];
}
const distinct = <T>(items: T[]) => [...new Set(items)];
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];
const median = (xs: number[]) => quantile(xs, 0.5);
const body = (r: SimulatedRequest) => JSON.parse(r.input.body ?? '{}') as { username?: string };

describe('simulate', () => {
  const options = population(7, {
    humans: 60,
    botsPerScenario: 1,
    spoof: true,
    durationMs: 2 * HOUR,
    start: START,
  });
  let all: SimulatedRequest[];

  beforeAll(() => {
    all = [...simulate(options)];
  });

  it('is deterministic: the same seed gives the same bytes, another seed other bytes', () => {
    const small = population(3, { humans: 20, botsPerScenario: 1, spoof: true, durationMs: HOUR });
    const a = digest(simulate(small));
    const b = digest(simulate(small));
    const c = digest(simulate({ ...small, seed: 4 }));
    expect(a.count).toBeGreaterThan(1_000);
    expect(b).toEqual(a);
    expect(c.sha).not.toBe(a.sha);
  });

  it('keeps an actor’s traffic when other actors are added', () => {
    const few = [...simulate({ ...options, humans: 5, bots: options.bots.slice(0, 2) })];
    const ofHuman3 = (rs: SimulatedRequest[]) =>
      rs.filter((r) => r.actor === 'human-3').map((r) => JSON.stringify(r));
    expect(ofHuman3(few).length).toBeGreaterThan(0);
    expect(ofHuman3(all)).toEqual(ofHuman3(few));
  });

  it('yields in event-time order, inside the period, with unique ids', () => {
    let last = -Infinity;
    let backwards = 0;
    const ids = new Set<string>();
    for (const r of all) {
      if (r.input.ts < last) backwards++;
      last = r.input.ts;
      ids.add(r.input.id);
    }
    expect(backwards).toBe(0);
    expect(all[0].input.ts).toBeGreaterThanOrEqual(START);
    expect(last).toBeLessThan(START + 2 * HOUR);
    expect(ids.size).toBe(all.length);
  });

  it('plays every scenario, plain and spoofed, labelled with its bot type', () => {
    for (const scenario of BOT_SCENARIOS) {
      for (const spoofed of [false, true]) {
        const requests = byScenario(all, scenario, spoofed);
        expect({ scenario, spoofed, present: requests.length > 0 }).toEqual({
          scenario,
          spoofed,
          present: true,
        });
        expect(distinct(requests.map((r) => JSON.stringify(r.label)))).toEqual([
          JSON.stringify({
            kind: 'bot',
            scenario,
            botType: SCENARIO_BOT_TYPE[scenario],
            spoofedUserAgent: spoofed,
          }),
        ]);
        expect(distinct(requests.map((r) => r.actor))).toEqual([
          `bot-${scenario}${spoofed ? '-spoofed' : ''}-0`,
        ]);
      }
    }
  });

  it('gives plain bots their tool’s User-Agent and spoofed bots a current browser’s, with its headers', () => {
    for (const scenario of BOT_SCENARIOS) {
      // The legacy scraper's own User-Agent is an old browser's (its shape test below).
      if (scenario !== 'legacy-browser-scraper')
        for (const ua of distinct(
          byScenario(all, scenario, false).map((r) => r.input.headers!['user-agent']),
        ))
          expect(TOOL_AGENTS.has(ua)).toBe(true);
      const spoofed = byScenario(all, scenario, true);
      for (const ua of distinct(spoofed.map((r) => r.input.headers!['user-agent']))) {
        expect(isbot(ua)).toBe(false);
        expect(ua).toMatch(/^Mozilla\/5\.0 \((Windows|Macintosh|Linux; Android|iPhone)/);
      }
      expect(
        spoofed.every(
          (r) => r.input.headers!['accept-language'] && r.input.headers!['sec-fetch-mode'],
        ),
      ).toBe(true);
    }
  });

  it('labels people as humans with a persona and gives them browser or app clients', () => {
    const humans = all.filter((r) => r.label.kind === 'human');
    expect(humans.length).toBeGreaterThan(500);
    const personas = new Set(humans.map((r) => (r.label.kind === 'human' ? r.label.persona : '')));
    expect(personas.size).toBeGreaterThanOrEqual(4);
    for (const ua of distinct(humans.map((r) => r.input.headers!['user-agent'])))
      expect(TOOL_AGENTS.has(ua)).toBe(false);
  });

  it('rejects options it cannot simulate, saying what is wrong', () => {
    expect(() => checkOptions({ ...options, durationMs: 0 })).toThrow(
      /durationMs must be positive/,
    );
    expect(() =>
      checkOptions({ ...options, bots: [{ scenario: 'nope' as BotScenario, count: 1 }] }),
    ).toThrow(/unknown bot scenario "nope"/);
    expect(() => checkOptions({ ...options, humans: -1 })).toThrow(/humans/);
  });

  describe('scenario shapes', () => {
    it('security crawlers walk scanner paths and storm 404s', () => {
      const scan = byScenario(all, 'scanner-paths');
      expect(scan.some((r) => r.input.path === '/.env')).toBe(true);
      expect(scan.some((r) => r.input.path.includes('UNION SELECT'))).toBe(true);
      const storm = byScenario(all, 'not-found-storm');
      expect(storm.length).toBeGreaterThan(500);
      expect(storm.filter((r) => r.input.status === 404).length / storm.length).toBeGreaterThan(
        0.95,
      );
    });

    it('catalogue enumeration walks product ids in order; the slow drip stays under the session timeout', () => {
      const ids = byScenario(all, 'catalogue-enumeration')
        .map((r) => /^\/api\/products\/(\d+)$/.exec(r.input.path)?.[1])
        .filter(Boolean)
        .map(Number);
      expect(ids.length).toBeGreaterThan(500);
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe(ids[i - 1] + 1);
      const drip = byScenario(all, 'slow-drip-scraper');
      const gaps = drip.slice(1).map((r, i) => r.input.ts - drip[i].input.ts);
      expect(Math.max(...gaps)).toBeLessThan(30 * 60_000);
      expect(median(gaps)).toBeGreaterThan(10_000);
      expect(drip[drip.length - 1].input.ts - drip[0].input.ts).toBeGreaterThan(1.5 * HOUR);
      expect(new Set(drip.map((r) => r.input.ip)).size).toBe(1);
    });

    it('the legacy scraper claims a browser 8–11 years old and walks listings at a steady pace', () => {
      const legacy = byScenario(all, 'legacy-browser-scraper');
      const agents = distinct(legacy.map((r) => r.input.headers!['user-agent']));
      expect(agents).toHaveLength(1);
      expect(isbot(agents[0])).toBe(false);
      const [, browser, major] = /(Chrome|Firefox)\/(\d+)\./.exec(agents[0])!;
      const released = browserslist.data[browser.toLowerCase()].releaseDate[major]! * 1000;
      const years = (START - released) / (365.25 * 24 * HOUR);
      expect(years).toBeGreaterThanOrEqual(8);
      expect(years).toBeLessThanOrEqual(11);
      // The headers copied with the UA, none a current browser adds; no cookie jar.
      const headers = legacy[0].input.headers!;
      expect(headers['accept-language']).toBeDefined();
      expect(headers['sec-ch-ua']).toBeUndefined();
      expect(headers['sec-fetch-mode']).toBeUndefined();
      expect(legacy.some((r) => r.input.headers!.cookie)).toBe(false);
      // Each category's listing page by page up to the first empty one, its products in between.
      const listings = legacy
        .map((r) => /^\/api\/categories\/([a-z-]+)\/products\?page=(\d+)$/.exec(r.input.path))
        .filter((m) => m !== null);
      const slugs = distinct(listings.map((m) => m[1]));
      expect(slugs.length).toBeGreaterThanOrEqual(3);
      for (const slug of slugs)
        expect(listings.filter((m) => m[1] === slug).map((m) => Number(m[2]))).toEqual(
          Array.from({ length: 41 }, (_, i) => i + 1),
        );
      // 24 products on each of the 40 pages but the ~4 % deleted ones, which no listing shows.
      const products = legacy.filter((r) => r.input.path.startsWith('/api/products/'));
      expect(products.length).toBeGreaterThan(22 * 40 * slugs.length);
      expect(products.some((r) => r.input.status === 404)).toBe(false);
      // One request at a time, a fixed sleep after each response: 5+ per second, regular.
      const gaps = legacy.slice(1).map((r, i) => r.input.ts - legacy[i].input.ts);
      expect(1000 / median(gaps)).toBeGreaterThan(5);
      expect(quantile(gaps, 0.9) / quantile(gaps, 0.1)).toBeLessThan(3);
    });

    it('the distributed scraper spreads one fingerprint over a pool of addresses', () => {
      const requests = byScenario(all, 'distributed-scraper');
      expect(new Set(requests.map((r) => r.input.ip)).size).toBeGreaterThanOrEqual(50);
      expect(new Set(requests.map((r) => r.input.headers!['user-agent'])).size).toBe(1);
    });

    it('credential stuffing tries many user names, mostly failing, from a handful of addresses', () => {
      const requests = byScenario(all, 'credential-stuffing');
      const logins = requests.filter((r) => r.input.path === '/api/login');
      expect(logins.length).toBeGreaterThan(300);
      expect(new Set(logins.map((r) => body(r).username)).size).toBeGreaterThan(
        0.9 * logins.length,
      );
      expect(logins.filter((r) => r.input.status === 401).length / logins.length).toBeGreaterThan(
        0.9,
      );
      expect(new Set(requests.map((r) => r.input.ip)).size).toBeLessThanOrEqual(4);
    });

    it('low-frequency stuffing uses at least 1,000 addresses, at most two attempts each, nothing else', () => {
      for (const spoofed of [false, true]) {
        const requests = byScenario(all, 'low-frequency-stuffing', spoofed);
        const perIp = new Map<string, number>();
        for (const r of requests) perIp.set(r.input.ip, (perIp.get(r.input.ip) ?? 0) + 1);
        expect(perIp.size).toBeGreaterThanOrEqual(1_000);
        expect(Math.max(...perIp.values())).toBeLessThanOrEqual(2);
        expect(
          requests.every((r) => r.input.method === 'POST' && r.input.path === '/api/login'),
        ).toBe(true);
        // One shared fingerprint across the pool.
        expect(new Set(requests.map((r) => r.input.headers!['user-agent'])).size).toBe(1);
        expect(new Set(requests.map((r) => Object.keys(r.input.headers!).join())).size).toBe(1);
      }
    });

    it('IP rotation keeps one session cookie across a pool of addresses; session rotation the reverse', () => {
      const rotation = byScenario(all, 'ip-rotation');
      const cookies = new Set(rotation.slice(1).map((r) => r.input.headers!.cookie));
      expect(cookies.size).toBe(1);
      // Every request from another address than the one before, across a pool of 100+.
      expect(rotation.slice(1).every((r, i) => r.input.ip !== rotation[i].input.ip)).toBe(true);
      expect(new Set(rotation.map((r) => r.input.ip)).size).toBeGreaterThanOrEqual(
        Math.min(100, rotation.length - 5),
      );
      const sessions = byScenario(all, 'session-rotation');
      expect(new Set(sessions.map((r) => r.input.ip)).size).toBe(1);
      expect(new Set(sessions.map((r) => r.input.headers!.cookie)).size).toBeGreaterThan(100);
    });

    it('persistent ATO comes back for the same accounts every few hours over days', () => {
      const days = population(11, {
        humans: 0,
        botsPerScenario: 1,
        spoof: false,
        durationMs: 72 * HOUR,
      });
      days.bots = days.bots.filter((b) => b.scenario === 'persistent-ato');
      const attempts = [...simulate(days)];
      const rounds = attempts.filter(
        (r, i) => i === 0 || r.input.ts - attempts[i - 1].input.ts > HOUR,
      );
      expect(rounds.length).toBeGreaterThanOrEqual(7);
      expect(attempts[attempts.length - 1].input.ts - attempts[0].input.ts).toBeGreaterThan(
        48 * HOUR,
      );
      expect(new Set(attempts.map((r) => body(r).username)).size).toBeLessThanOrEqual(3);
      expect(attempts.every((r) => r.input.status === 401)).toBe(true);
    });

    it('resource consumers send huge bodies, pull huge responses, hit slow endpoints, flood', () => {
      const payload = byScenario(all, 'huge-payload').slice(1);
      expect(median(payload.map((r) => r.input.requestBytes!))).toBeGreaterThan(2 * 2 ** 20);
      const download = byScenario(all, 'huge-download').slice(1);
      expect(median(download.map((r) => r.input.responseBytes!))).toBeGreaterThan(2 * 2 ** 20);
      const expensive = byScenario(all, 'expensive-endpoint').slice(1);
      expect(median(expensive.map((r) => r.input.latencyMs!))).toBeGreaterThan(2_000);
      const flood = byScenario(all, 'flood');
      const seconds = (flood[flood.length - 1].input.ts - flood[0].input.ts) / 1000;
      expect(flood.length / seconds).toBeGreaterThan(15);
    });

    it('suspicious API activity reads the spec, probes every method and other customers’ orders', () => {
      const odd = byScenario(all, 'odd-sequence');
      expect(odd[0].input.path).toBe('/api/openapi.json');
      expect(new Set(odd.map((r) => r.input.method))).toEqual(
        new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
      );
      expect(
        odd.filter((r) => /^\/api\/account\/orders\/\d+$/.test(r.input.path)).length,
      ).toBeGreaterThan(50);
      const abuse = byScenario(all, 'critical-endpoint-abuse');
      const critical = abuse.filter((r) =>
        /^\/api\/(signup|password-reset|checkout\/coupon|payment)$/.test(r.input.path),
      );
      expect(critical.length / abuse.length).toBeGreaterThan(0.9);
    });
  });
});
