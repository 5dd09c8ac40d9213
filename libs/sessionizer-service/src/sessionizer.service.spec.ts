import type { RequestRecord, SessionEvent } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import { createStandaloneRuntime, MemoryBus } from '@moat/stream-kit';
import { SessionizerService } from './sessionizer.service';

const T0 = 1_764_000_000_000;

function request(i: number, ip: string, credential: boolean): RequestRecord {
  return {
    v: 1,
    id: `req-${ip}-${i}`,
    ts: T0 + i * 1_000,
    app: 'shop.example',
    ip,
    method: 'GET',
    path: `/api/products/${i}`,
    query: {},
    status: 200,
    requestBytes: 10,
    responseBytes: 100,
    latencyMs: 1,
    userAgent: 'ua',
    headerNames: [],
    credentials: credential ? [{ kind: 'cookie', name: 'sid', hash: 'e'.repeat(64) }] : [],
  };
}

describe('SessionizerService on the standalone runtime', () => {
  it('runs both stages: a cookie session hopping addresses stays one session', async () => {
    const runtime = createStandaloneRuntime({
      topicPrefix: 'svc',
      logger: createLogger('t', 'fatal'),
    });
    await runtime.start();
    const service = new SessionizerService(runtime, { inactivityMs: 1_800_000 });
    await service.onApplicationBootstrap();
    const hopping = Array.from({ length: 30 }, (_, i) => request(i, `198.51.100.${i + 1}`, true));
    const still = Array.from({ length: 10 }, (_, i) => request(i, '203.0.113.9', false));
    await runtime.publish(
      'requests',
      [...hopping, ...still].map((value) => ({ key: value.ip, value })),
      'test',
    );
    const bus = runtime.bus as MemoryBus;
    const events = () =>
      bus.read(runtime.topics.events).map((m) => JSON.parse(m.value!.toString()) as SessionEvent);
    for (let i = 0; i < 100 && events().length < 40; i++)
      await new Promise((r) => setTimeout(r, 20));
    await service.beforeApplicationShutdown();
    const out = events();
    expect(out).toHaveLength(40);
    const cookie = out.filter((e) => e.sessionKeyKind === 'credential');
    // Stage 1 forwards partition by partition, so the session's requests may reach stage 2 out
    // of event-time order: an earlier one renames the session (and says which id it replaces).
    const superseded = new Set(cookie.flatMap((e) => e.supersedes ?? []));
    const final = cookie.filter((e) => !superseded.has(e.sessionId));
    expect(new Set(final.map((e) => e.sessionId)).size).toBe(1);
    expect(Math.max(...final.map((e) => e.session.requestCount))).toBe(30);
    expect(Math.max(...final.map((e) => e.session.uniqueIps ?? 0))).toBe(30);
    expect(Math.min(...final.map((e) => e.session.startedAt))).toBe(T0);
    await runtime.close();
  });
});
