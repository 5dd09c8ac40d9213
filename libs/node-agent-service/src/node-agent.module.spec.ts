import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Decision } from '@moat/contracts';
import { createLogger, PipelineMetrics } from '@moat/observability';
import { createStandaloneRuntime, StreamRuntimeModule } from '@moat/stream-kit';
import { DecisionIndex } from './decision-index';
import { NodeAgentModule } from './node-agent.module';

const quiet = createLogger('test', 'silent');

function decision(subject: string, action: Decision['action']): Decision {
  const now = Date.now();
  return {
    v: 1,
    subject,
    action,
    source: 'auto',
    botTypes: [],
    confidence: 1,
    detectors: [],
    profile: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

describe('NodeAgentModule over HTTP', () => {
  let app: NestFastifyApplication;
  const runtime = createStandaloneRuntime({
    logger: quiet,
    metrics: new PipelineMetrics({ defaultMetrics: false }),
  });

  beforeAll(async () => {
    await runtime.start();
    await runtime.publish(
      'decisions',
      [
        { key: '203.0.113.7', value: decision('203.0.113.7', 'deny') },
        { key: '198.51.100.0/24', value: decision('198.51.100.0/24', 'graylist') },
      ],
      'scoring',
    );
    class Root {}
    app = await NestFactory.create<NestFastifyApplication>(
      {
        module: Root,
        imports: [
          StreamRuntimeModule.forRoot(runtime),
          NodeAgentModule.register({
            trustedProxies: ['127.0.0.1'],
            graylist: { ratePerSecond: 1, burst: 1 },
          }),
        ],
      },
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const index = app.get(DecisionIndex);
    const deadline = Date.now() + 3000;
    while (index.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  });

  afterAll(async () => {
    await app.close();
  });

  const inject = (url: string, headers: Record<string, string>, method: 'GET' | 'POST' = 'GET') =>
    app.getHttpAdapter().getInstance().inject({ method, url, headers, remoteAddress: '127.0.0.1' });

  it('answers /v1/check for every verdict with the headers proxies read', async () => {
    const allow = await inject('/v1/check', { 'x-forwarded-for': '192.0.2.1' });
    expect([allow.statusCode, allow.headers['x-moat-action']]).toEqual([204, 'allow']);
    const deny = await inject('/v1/check', { 'x-forwarded-for': '203.0.113.7' });
    expect([deny.statusCode, deny.headers['x-moat-action'], deny.json()]).toEqual([
      403,
      'deny',
      { error: 'blocked by Moat', reason: 'denylist', botTypes: [] },
    ]);
    const critical = await inject('/v1/check', {
      'x-forwarded-for': '198.51.100.4',
      'x-forwarded-uri': '/login',
    });
    expect([critical.statusCode, critical.headers['x-moat-reason']]).toEqual([
      403,
      'graylist-critical',
    ]);
    const first = await inject('/v1/check', {
      'x-forwarded-for': '198.51.100.5',
      'x-forwarded-uri': '/api/a',
    });
    const second = await inject('/v1/check', {
      'x-forwarded-for': '198.51.100.5',
      'x-forwarded-uri': '/api/a',
    });
    expect([first.statusCode, second.statusCode, second.headers['retry-after']]).toEqual([
      204,
      429,
      '1',
    ]);
  });

  it('serves Envoy’s path form with 200 on allow', async () => {
    const envoy = await inject('/v1/check/api/items/1', { 'x-forwarded-for': '192.0.2.1' }, 'POST');
    expect(envoy.statusCode).toBe(200);
    const blocked = await inject(
      '/v1/check/api/items/1',
      { 'x-forwarded-for': '203.0.113.7' },
      'POST',
    );
    expect(blocked.statusCode).toBe(403);
  });

  it('reports readiness with the decisions check', async () => {
    const ready = await inject('/readyz', {});
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.decisions).toEqual({
      state: 'ok',
      detail: 'following the decisions topic: 2 decisions',
    });
  });
});
