import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import express from 'express';
import Fastify from 'fastify';
import type { Decision } from '@moat/contracts';
import { createLogger, PipelineMetrics } from '@moat/observability';
import { createStandaloneRuntime, type StreamRuntime } from '@moat/stream-kit';
import { MoatGuard } from './moat-guard';
import { MoatModule } from './moat.module';

const quiet = createLogger('test', 'silent');

function decision(subject: string, action: Decision['action']): Decision {
  const now = Date.now();
  return {
    v: 1,
    subject,
    action,
    source: 'auto',
    botTypes: ['scraping'],
    confidence: 1,
    detectors: [],
    profile: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

async function runtimeWith(
  ...entries: [string, Decision['action'] | null][]
): Promise<StreamRuntime> {
  const runtime = createStandaloneRuntime({
    logger: quiet,
    metrics: new PipelineMetrics({ defaultMetrics: false }),
  });
  await runtime.start();
  await runtime.publish(
    'decisions',
    entries.map(([ip, action]) => ({ key: ip, value: action ? decision(ip, action) : null })),
    'scoring',
  );
  return runtime;
}

async function started(runtime: StreamRuntime, expected: number): Promise<MoatGuard> {
  const guard = new MoatGuard({
    runtime,
    trustedProxies: ['127.0.0.1'],
    graylist: { ratePerSecond: 1, burst: 1 },
    logger: quiet,
  });
  await guard.start();
  await guard.follower.waitUntilCaughtUp(3000);
  const deadline = Date.now() + 3000;
  while (guard.index.size < expected && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  return guard;
}

describe('MoatGuard', () => {
  it('needs Kafka or a runtime', () => {
    expect(() => new MoatGuard({})).toThrow('needs `kafka: { brokers }`');
  });

  it('leaves no timer behind when stopped while Kafka is unreachable, so the app can exit', async () => {
    const deadPort = await new Promise<number>((resolve) => {
      const server = express().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const guard = new MoatGuard({ kafka: { brokers: [`127.0.0.1:${deadPort}`] }, logger: quiet });
    await guard.start();
    let status;
    try {
      // The first attempt is refused at once; the follower then waits to retry by itself (the
      // admin client does not back off in kafkajs, whose timers nothing could cancel).
      const deadline = Date.now() + 2000;
      while (guard.status().bus !== 'down' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      status = guard.status();
    } finally {
      await guard.stop();
    }
    expect(status).toMatchObject({ state: 'degraded', bus: 'down' });
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('enforces in an Express app: deny, graylist on critical endpoints and over the rate', async () => {
    const runtime = await runtimeWith(['203.0.113.7', 'deny'], ['198.51.100.0/24', 'graylist']);
    const guard = await started(runtime, 2);
    const app = express();
    app.use(guard.express());
    app.get('/{*path}', (req, res) => {
      res.json({ moat: (req as unknown as { moat: unknown }).moat });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const as = (ip: string, path: string, accept = 'application/json') =>
      fetch(`${base}${path}`, { headers: { 'x-forwarded-for': ip, accept } });
    try {
      const ok = await as('192.0.2.1', '/api/items');
      expect([ok.status, await ok.json()]).toEqual([
        200,
        { moat: { action: 'allow', reason: 'no-decision', clientIp: '192.0.2.1' } },
      ]);
      const denied = await as('203.0.113.7', '/api/items');
      expect([denied.status, await denied.json()]).toEqual([
        403,
        { error: 'blocked by Moat', reason: 'denylist', botTypes: ['scraping'] },
      ]);
      expect((await as('198.51.100.9', '/login')).status).toBe(403);
      expect((await as('198.51.100.9', '/api/items')).status).toBe(200);
      const slowed = await as('198.51.100.9', '/api/items');
      expect([slowed.status, slowed.headers.get('retry-after')]).toEqual([429, '1']);
    } finally {
      server.close();
      await guard.stop();
    }
  });

  it('enforces in a Fastify app through an onRequest hook', async () => {
    const runtime = await runtimeWith(['203.0.113.7', 'deny']);
    const guard = await started(runtime, 1);
    const app = Fastify();
    app.addHook('onRequest', guard.fastify());
    app.get('/api/items', async (request) => ({
      moat: (request as unknown as { moat: unknown }).moat,
    }));
    try {
      const denied = await app.inject({
        url: '/api/items',
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': '203.0.113.7' },
      });
      expect([denied.statusCode, denied.headers['x-moat-reason']]).toEqual([403, 'denylist']);
      const ok = await app.inject({
        url: '/api/items',
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': '192.0.2.1' },
      });
      expect([ok.statusCode, ok.json().moat.action]).toEqual([200, 'allow']);
    } finally {
      await app.close();
      await guard.stop();
    }
  });

  it('enforces in a NestJS app (Fastify platform) and follows lifts', async () => {
    const runtime = await runtimeWith(['203.0.113.7', 'deny']);
    const guard = new MoatGuard({ runtime, trustedProxies: ['127.0.0.1'], logger: quiet });
    @Controller()
    class ItemsController {
      @Get('api/items')
      items() {
        return { items: [] };
      }
    }
    @Module({ imports: [MoatModule.forRoot(guard)], controllers: [ItemsController] })
    class AppModule {}
    const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    const base = await app.getUrl();
    const as = (ip: string) =>
      fetch(`${base.replace('[::1]', '127.0.0.1')}/api/items`, {
        headers: { 'x-forwarded-for': ip },
      });
    try {
      await guard.follower.waitUntilCaughtUp(3000);
      const deadline = Date.now() + 3000;
      while (guard.index.size < 1 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      expect((await as('203.0.113.7')).status).toBe(403);
      expect((await as('192.0.2.1')).status).toBe(200);
      await runtime.publish('decisions', [{ key: '203.0.113.7', value: null }], 'scoring');
      const lifted = Date.now() + 3000;
      while (guard.index.size > 0 && Date.now() < lifted)
        await new Promise((r) => setTimeout(r, 5));
      expect((await as('203.0.113.7')).status).toBe(200);
    } finally {
      await app.close();
    }
    expect(guard.status().state).not.toBe('ok'); // stopped with the app
  });
});
