import { codecs } from '@moat/contracts';
import { collectSessionEvents, toRequestRecords } from './pipeline';
import { population } from './population';
import { simulate } from './simulate';
import type { SimulatedRequest } from './simulation.types';

const SECRET = 'simulator-test-secret-0123456789';
const options = population(21, {
  humans: 40,
  botsPerScenario: 1,
  spoof: true,
  durationMs: 3_600_000,
});
options.bots = options.bots.filter((b) =>
  ['ip-rotation', 'low-frequency-stuffing', 'credential-stuffing'].includes(b.scenario),
);

describe('toRequestRecords', () => {
  const simulated = [...simulate(options)];
  const records = [...toRequestRecords(simulated, SECRET)];

  it('normalises every request into a valid moat.requests.v1 record, in order, with its label', () => {
    expect(records).toHaveLength(simulated.length);
    records.forEach(({ record, label, actor }, i) => {
      expect(record.id).toBe(simulated[i].input.id);
      expect(label).toBe(simulated[i].label);
      expect(actor).toBe(simulated[i].actor);
    });
    expect(records.every(({ record }) => codecs.requests.check(record).ok)).toBe(true);
  });

  it('hashes the session cookies and bearer tokens and never carries them in clear', () => {
    const secrets = (r: SimulatedRequest) =>
      [r.input.headers?.cookie?.slice(4), r.input.headers?.authorization?.slice(7)].filter(
        (s): s is string => !!s,
      );
    let withCredential = 0;
    records.forEach(({ record }, i) => {
      const clear = secrets(simulated[i]);
      if (clear.length === 0) return;
      withCredential++;
      expect(record.credentials.length).toBeGreaterThan(0);
      const text = JSON.stringify(record);
      for (const s of clear) expect(text).not.toContain(s);
    });
    expect(withCredential).toBeGreaterThan(100);
  });

  it('never carries a clear password or request body', () => {
    const passwords = simulated
      .map(
        (r) =>
          (JSON.parse(r.input.body?.startsWith('{') ? r.input.body : '{}') as { password?: string })
            .password,
      )
      .filter((p): p is string => !!p);
    expect(passwords.length).toBeGreaterThan(100);
    const text = records.map(({ record }) => JSON.stringify(record)).join('\n');
    for (const p of passwords.slice(0, 200)) expect(text).not.toContain(`"${p}"`);
  });
});

describe('toSessionEvents', () => {
  it('sessionizes through the real sessionizer: one labelled event per request, in order', async () => {
    const simulated = [...simulate(options)];
    const events = await collectSessionEvents(simulated, { secret: SECRET, batchSize: 97 });
    expect(events.map((e) => e.event.request.id)).toEqual(simulated.map((r) => r.input.id));
    events.forEach((e, i) => expect(e.label).toBe(simulated[i].label));
    expect(events.every((e) => codecs.events.check(e.event).ok)).toBe(true);
  });

  it('keeps the IP-rotation bot in one credential session across its addresses', async () => {
    const events = await collectSessionEvents(simulate(options), { secret: SECRET });
    const rotation = events.filter((e) => e.actor === 'bot-ip-rotation-0').slice(1);
    expect(new Set(rotation.map((e) => e.event.request.ip)).size).toBeGreaterThan(20);
    expect(new Set(rotation.map((e) => e.event.sessionId)).size).toBe(1);
    expect(rotation.every((e) => e.event.sessionKeyKind === 'credential')).toBe(true);
    expect(rotation[rotation.length - 1].event.session.requestCount).toBe(rotation.length);
    // Low-frequency stuffing: every client is a session of at most two requests.
    const lf = events.filter((e) => e.actor === 'bot-low-frequency-stuffing-0');
    expect(Math.max(...lf.map((e) => e.event.session.requestCount))).toBeLessThanOrEqual(2);
    expect(lf.every((e) => e.event.auth?.outcome !== undefined)).toBe(true);
  });

  it('needs the secret to normalise simulated requests', async () => {
    await expect(collectSessionEvents(simulate(options))).rejects.toThrow(/needs \{ secret \}/);
  });
});
