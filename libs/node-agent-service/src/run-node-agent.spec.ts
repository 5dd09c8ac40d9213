import type { Decision } from '@moat/contracts';
import { createLogger, PipelineMetrics } from '@moat/observability';
import { createStandaloneRuntime } from '@moat/stream-kit';
import { isCheckUrl, runNodeAgent } from './run-node-agent';

function deny(subject: string): Decision {
  const now = Date.now();
  return {
    v: 1,
    subject,
    action: 'deny',
    source: 'auto',
    botTypes: [],
    confidence: 1,
    detectors: [],
    profile: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

describe('isCheckUrl', () => {
  it('knows the check paths and nothing else', () => {
    for (const url of ['/v1/check', '/v1/check?x=1', '/v1/check/api/login'])
      expect(isCheckUrl(url)).toBe(true);
    for (const url of ['/v1/checks', '/v1/checkout', '/readyz', '/', undefined])
      expect(isCheckUrl(url)).toBe(false);
  });
});

describe('runNodeAgent', () => {
  it('answers checks before Nest and serves health and metrics through it', async () => {
    const runtime = createStandaloneRuntime({
      logger: createLogger('test', 'silent'),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
    });
    await runtime.start();
    await runtime.publish(
      'decisions',
      [{ key: '203.0.113.7', value: deny('203.0.113.7') }],
      'scoring',
    );
    const app = await runNodeAgent({
      runtime,
      options: { trustedProxies: ['127.0.0.1'] },
      port: 0,
      host: '127.0.0.1',
    });
    try {
      const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const check = (ip: string, path = '/v1/check') =>
        fetch(`${base}${path}`, { headers: { 'x-forwarded-for': ip } });
      const deadline = Date.now() + 3000;
      while ((await check('203.0.113.7')).status !== 403 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const denied = await check('203.0.113.7');
      expect([denied.status, denied.headers.get('x-moat-action')]).toEqual([403, 'deny']);
      expect((await check('192.0.2.1')).status).toBe(204);
      expect((await check('192.0.2.1', '/v1/check/api/items')).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([
        200,
        'ok',
      ]);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain(
        'moat_node_agent_checks_total{service="node-agent",integration="forward-auth",action="deny",outcome="block"}',
      );
      expect((await fetch(`${base}/v1/checkout`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
