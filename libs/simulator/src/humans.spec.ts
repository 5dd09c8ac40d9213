import { HUMAN_TIMING, PERSONAS } from './humans';
import { population } from './population';
import { simulate } from './simulate';
import type { SimulatedRequest } from './simulation.types';

const HOUR = 3_600_000;
const TIMEOUT = 30 * 60_000;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cv = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2))) / m;
};

describe('simulated people', () => {
  const byActor = new Map<string, SimulatedRequest[]>();
  const persona = new Map<string, string>();
  /** Each actor's visits: runs of requests with no gap over the session timeout. */
  const visits: { actor: string; requests: SimulatedRequest[] }[] = [];

  beforeAll(() => {
    const options = population(5, {
      humans: 1_500,
      botsPerScenario: 0,
      spoof: false,
      durationMs: 24 * HOUR,
    });
    for (const r of simulate(options)) {
      if (r.label.kind !== 'human') throw new Error('only people expected');
      persona.set(r.actor, r.label.persona);
      if (!byActor.has(r.actor)) byActor.set(r.actor, []);
      byActor.get(r.actor)!.push(r);
    }
    for (const [actor, requests] of byActor) {
      let current: SimulatedRequest[] = [];
      for (const r of requests) {
        if (current.length > 0 && r.input.ts - current[current.length - 1].input.ts > TIMEOUT) {
          visits.push({ actor, requests: current });
          current = [];
        }
        current.push(r);
      }
      visits.push({ actor, requests: current });
    }
  });

  it('includes every persona', () => {
    expect(new Set(persona.values())).toEqual(new Set(PERSONAS));
    expect(byActor.size).toBeGreaterThan(1_400); // nearly everyone starts inside the period
  });

  it('thinks between page views: log-normal-like gaps, median of seconds, a heavy tail', () => {
    const gaps: number[] = [];
    for (const { actor, requests } of visits) {
      if (persona.get(actor) === 'long-lived-tab') continue; // timers, not thinking
      for (let i = 1; i < requests.length; i++) {
        const gap = requests[i].input.ts - requests[i - 1].input.ts;
        // Requests of one page view come within a second; a gap over it is a page change.
        if (gap >= HUMAN_TIMING.thinkMinMs + 400) gaps.push(gap);
      }
    }
    expect(gaps.length).toBeGreaterThan(5_000);
    const median = quantile(gaps, 0.5);
    expect(median).toBeGreaterThan(5_000);
    expect(median).toBeLessThan(15_000);
    expect(quantile(gaps, 0.95)).toBeGreaterThan(4 * median); // heavy tail
    expect(cv(gaps)).toBeGreaterThan(1);
    // People are irregular inside a visit too: the typical visit's gaps vary a lot.
    const perVisitCv = visits
      .filter((v) => persona.get(v.actor) !== 'long-lived-tab' && v.requests.length >= 8)
      .map((v) => cv(v.requests.slice(1).map((r, i) => r.input.ts - v.requests[i].input.ts)));
    expect(quantile(perVisitCv, 0.5)).toBeGreaterThan(0.8);
  });

  it('has visits of a few to a few dozen requests, and people come back', () => {
    const lengths = visits.map((v) => v.requests.length);
    expect(quantile(lengths, 0.5)).toBeGreaterThanOrEqual(8);
    expect(quantile(lengths, 0.5)).toBeLessThanOrEqual(60);
    expect(quantile(lengths, 0.1)).toBeLessThan(quantile(lengths, 0.9) / 3);
    expect(Math.max(...lengths)).toBeLessThan(2_000);
    const returning = [...byActor.keys()].filter(
      (a) => visits.filter((v) => v.actor === a).length > 1,
    );
    expect(returning.length / byActor.size).toBeGreaterThan(0.2);
  });

  it('logs in now and then, sometimes mistyping the password first, then succeeding or resetting it', () => {
    const logins = [...byActor.values()]
      .flat()
      .filter((r) => r.input.method === 'POST' && /^\/(api\/)?login$/.test(r.input.path));
    expect(logins.length).toBeGreaterThan(200);
    const failed = logins.filter((r) => r.input.status === 401);
    const rate = failed.length / logins.length;
    expect(rate).toBeGreaterThan(HUMAN_TIMING.typoRate / 3);
    expect(rate).toBeLessThan(HUMAN_TIMING.typoRate * 2);
    for (const f of failed) {
      const next = byActor
        .get(f.actor)!
        .find((r) => r.input.ts > f.input.ts && r.input.method === 'POST');
      expect(next && /login|password-reset/.test(next.input.path)).toBeTruthy();
      expect(next!.input.ts - f.input.ts).toBeLessThan(2 * 60_000);
    }
    // Login bodies carry the user name for the mirror agent to hash.
    expect(logins.every((r) => /username/.test(r.input.body ?? ''))).toBe(true);
  });

  it('fills carts, checks out and pays, after logging in', () => {
    for (const requests of byActor.values()) {
      const payment = requests.findIndex((r) => r.input.path === '/api/payment');
      if (payment === -1) continue;
      const before = requests.slice(0, payment).map((r) => r.input.path);
      expect(before).toContain('/api/checkout');
      expect(before).toContain('/api/cart/items');
    }
    expect(
      [...byActor.values()].flat().filter((r) => r.input.path === '/api/payment').length,
    ).toBeGreaterThan(20);
  });

  it('moves between networks mid-session while keeping their token or cookie', () => {
    let switching = 0;
    for (const { actor, requests } of visits) {
      const p = persona.get(actor);
      if (p !== 'app-user' && p !== 'long-lived-tab' && p !== 'mobile-shopper') continue;
      const ips = new Set(requests.map((r) => r.input.ip));
      const credentials = new Set(
        requests.slice(1).map((r) => r.input.headers!.authorization ?? r.input.headers!.cookie),
      );
      if (ips.size > 1 && credentials.size === 1 && !credentials.has(undefined!)) switching++;
    }
    expect(switching).toBeGreaterThan(10);
  });

  it('keeps long-lived tabs open for hours, polling about every minute', () => {
    const long = visits.filter((v) => persona.get(v.actor) === 'long-lived-tab');
    const hours = long.map(
      (v) => (v.requests[v.requests.length - 1].input.ts - v.requests[0].input.ts) / HOUR,
    );
    expect(quantile(hours, 0.5)).toBeGreaterThan(1);
    const polls = long.flatMap((v) =>
      v.requests.filter((r) => r.input.path === '/api/notifications'),
    );
    expect(polls.length).toBeGreaterThan(1_000);
  });
});
