/**
 * The in-process middleware in a real Express app following the real Kafka: a decision
 * produced on the decisions topic is enforced, a graylist refuses critical endpoints, a lifted
 * decision stops being enforced, and a restarted app enforces its snapshot before Kafka answers.
 */
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Decision } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import { createDistributedRuntime, probeInfrastructure } from '@moat/stream-kit';
import { MoatGuard } from '../src';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `na-express-${Date.now()}`;
const SNAPSHOT = join(mkdtempSync(join(tmpdir(), 'moat-express-')), 'app.decisions.snapshot');
const quiet = createLogger('express-test', 'warn');

function decision(subject: string, action: Decision['action']): Decision {
  const now = Date.now();
  return {
    v: 1,
    subject,
    action,
    source: 'auto',
    botTypes: ['account-takeover'],
    confidence: 0.95,
    detectors: [],
    profile: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

async function until(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function startApp(guard: MoatGuard): Promise<{ server: Server; base: string }> {
  const app = express();
  app.use(guard.express());
  app.post('/api/login', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/api/items', (req, res) => {
    res.json({ items: [], moat: (req as unknown as { moat: unknown }).moat });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('Express middleware on the real Kafka', () => {
  const scoring = createDistributedRuntime({
    service: 'test-scoring',
    brokers: BROKERS,
    topicPrefix: RUN,
    partitions: 3,
    replicationFactor: 1,
    redisUrl: REDIS_URL,
    redisPrefix: `${RUN}:`,
    store: 'memory',
    logger: quiet,
  });
  const publish = (subject: string, value: Decision | null) =>
    scoring.publish('decisions', [{ key: subject, value }], 'test-scoring');
  let guard: MoatGuard;
  let app: { server: Server; base: string };
  const as = (ip: string, path = '/api/items', method = 'GET') =>
    fetch(`${app.base}${path}`, { method, headers: { 'x-forwarded-for': ip } });

  beforeAll(async () => {
    await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch((err: Error) => {
      throw new Error(
        `Integration tests need the real Kafka and Redis (${err.message}). Run them through \`npm test\`, which starts both.`,
      );
    });
    await scoring.start();
    guard = new MoatGuard({
      kafka: { brokers: BROKERS, topicPrefix: RUN, partitions: 3 },
      snapshotPath: SNAPSHOT,
      logger: quiet,
    });
    await guard.start();
    await guard.follower.waitUntilCaughtUp(60_000);
    app = await startApp(guard);
  }, 90_000);

  afterAll(async () => {
    app?.server.close();
    await guard?.stop();
    await scoring.close();
  });

  it('enforces a decision produced on Kafka', async () => {
    expect((await as('203.0.113.50')).status).toBe(200);
    const start = performance.now();
    await publish('203.0.113.50', decision('203.0.113.50', 'deny'));
    await until(
      'the app to refuse the denied client',
      async () => (await as('203.0.113.50')).status === 403,
    );
    process.stdout.write(
      `\ndecision produced → refused by the Express middleware in ${(performance.now() - start).toFixed(0)} ms\n`,
    );
    const refused = await as('203.0.113.50');
    expect(await refused.json()).toEqual({
      error: 'blocked by Moat',
      reason: 'denylist',
      botTypes: ['account-takeover'],
    });
    const ok = await as('203.0.113.51');
    expect(await ok.json()).toEqual({
      items: [],
      moat: { action: 'allow', reason: 'no-decision', clientIp: '203.0.113.51' },
    });
  });

  it('refuses a graylisted network on the login endpoint and lets it browse', async () => {
    await publish('2001:db8:77::/48', decision('2001:db8:77::/48', 'graylist'));
    await until(
      'the graylist',
      async () => (await as('2001:db8:77::9', '/api/login', 'POST')).status === 403,
    );
    const browsing = await as('2001:db8:77::9');
    expect([
      browsing.status,
      ((await browsing.json()) as { moat: { action: string } }).moat.action,
    ]).toEqual([200, 'graylist']);
  });

  it('stops enforcing a lifted decision', async () => {
    await publish('203.0.113.50', null);
    await until('the lift', async () => (await as('203.0.113.50')).status === 200);
  });

  it('enforces its snapshot after a restart before it has read anything from Kafka', async () => {
    await publish('203.0.113.60', decision('203.0.113.60', 'deny'));
    await until('the second deny', async () => (await as('203.0.113.60')).status === 403);
    app.server.close();
    await guard.stop(); // writes the snapshot

    // The restarted app points at a broker that is not there: only the snapshot can block.
    const deadPort = await new Promise<number>((resolve) => {
      const s = express().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    guard = new MoatGuard({
      kafka: { brokers: [`127.0.0.1:${deadPort}`], topicPrefix: RUN },
      snapshotPath: SNAPSHOT,
      logger: createLogger('express-test', 'fatal'),
    });
    await guard.start();
    app = await startApp(guard);
    expect((await as('203.0.113.60')).status).toBe(403);
    expect((await as('203.0.113.50')).status).toBe(200);
    expect((await as('2001:db8:77::1', '/api/login', 'POST')).status).toBe(403);
    expect(guard.status()).toMatchObject({ state: 'degraded', caughtUp: false });
  });
});
