/**
 * The node agent enforcing through a real NGINX (auth_request) on the real Kafka: a decision
 * produced on the decisions topic is enforced, a graylist refuses critical endpoints and slows
 * the rest, a lifted decision stops being enforced, and an agent restarted while Kafka is
 * unreachable keeps enforcing its snapshot (degraded), then catches up when Kafka is back.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import {
  decision,
  decisionProducer,
  ensureNginx,
  freePort,
  readiness,
  requireInfrastructure,
  ROOT,
  startAgent,
  startNginx,
  startUpstream,
  waitFor,
  type Agent,
  type Nginx,
} from './support';

const RUN = `na-nginx-${Date.now()}`;
const DIR = join(ROOT, 'tmp', RUN);
const SNAPSHOT = join(DIR, 'node-agent.decisions.snapshot');
const AGENT_ENV = {
  MOAT_SNAPSHOT_PATH: SNAPSHOT,
  MOAT_SNAPSHOT_INTERVAL: '1s',
  MOAT_GRAYLIST_RATE: '1/s',
  MOAT_GRAYLIST_BURST: '2',
};

describe('node agent behind NGINX auth_request, on the real Kafka', () => {
  let agent: Agent;
  let agentPort: number;
  let nginx: Nginx;
  let upstream: Server;
  let producer: Awaited<ReturnType<typeof decisionProducer>>;

  const through = (ip: string, path = '/api/items/1', method = 'GET') =>
    fetch(`http://127.0.0.1:${nginx.port}${path}`, { method, headers: { 'x-forwarded-for': ip } });
  const statusOf = async (ip: string, path?: string, method?: string) =>
    (await through(ip, path, method)).status;

  beforeAll(async () => {
    await requireInfrastructure();
    const binary = ensureNginx();
    mkdirSync(DIR, { recursive: true });
    producer = await decisionProducer(RUN);
    const api = await startUpstream();
    upstream = api.server;
    agentPort = await freePort();
    agent = startAgent({
      name: 'node-agent-1',
      logDir: DIR,
      port: agentPort,
      prefix: RUN,
      env: AGENT_ENV,
    });
    try {
      await waitFor(
        'the node agent to be ready',
        60_000,
        async () => (await readiness(agent)).http === 200,
      );
    } catch (err) {
      process.stdout.write(agent.log());
      throw err;
    }
    nginx = await startNginx({
      binary,
      stateDir: join(DIR, 'nginx'),
      agentPort,
      upstreamPort: api.port,
    });
    process.stdout.write(
      `\nNGINX on ${nginx.port} → node agent ${agentPort}; topics ${RUN}.*; logs in tmp/${RUN}/\n`,
    );
  }, 300_000);

  afterAll(async () => {
    await nginx?.stop();
    await agent?.stop();
    await producer?.close();
    upstream?.close();
  });

  it('lets a client without a decision through to the API, marked allow', async () => {
    const res = await through('192.0.2.10');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ upstream: true, moatAction: 'allow' });
  });

  it('enforces a decision produced on Kafka', async () => {
    expect(await statusOf('203.0.113.7')).toBe(200);
    const start = performance.now();
    await producer.publish('203.0.113.7', decision('203.0.113.7', 'deny'));
    await waitFor(
      'NGINX to refuse the denied client',
      10_000,
      async () => ((await statusOf('203.0.113.7')) === 403 ? true : undefined),
      5,
    );
    process.stdout.write(
      `decision produced → refused by NGINX in ${(performance.now() - start).toFixed(0)} ms\n`,
    );
    const refused = await through('203.0.113.7', '/anything?x=1');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: 'blocked by Moat' });
    expect(await statusOf('203.0.113.8')).toBe(200);
  });

  it('refuses a graylisted client on critical endpoints and slows it elsewhere', async () => {
    await producer.publish('198.51.100.0/24', decision('198.51.100.0/24', 'graylist'));
    await waitFor('the graylist on the login endpoint', 10_000, async () =>
      (await statusOf('198.51.100.20', '/api/login', 'POST')) === 403 ? true : undefined,
    );
    expect(await statusOf('198.51.100.21', '/checkout')).toBe(403);
    // Elsewhere: a burst of 2 passes (marked graylist for the API), then 429 with Retry-After.
    const first = await through('198.51.100.22', '/api/products');
    expect([first.status, ((await first.json()) as { moatAction: string }).moatAction]).toEqual([
      200,
      'graylist',
    ]);
    expect(await statusOf('198.51.100.22', '/api/products')).toBe(200);
    const slowed = await through('198.51.100.22', '/api/products');
    expect(slowed.status).toBe(429);
    expect(slowed.headers.get('retry-after')).toBe('1');
    expect(await slowed.json()).toEqual({ error: 'too many requests' });
    // A second later it may go on at the rate.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await statusOf('198.51.100.22', '/api/products')).toBe(200);
  });

  it('stops enforcing a lifted decision', async () => {
    await producer.publish('203.0.113.7', null);
    await waitFor('NGINX to let the lifted client through', 10_000, async () =>
      (await statusOf('203.0.113.7')) === 200 ? true : undefined,
    );
  });

  it('keeps enforcing its snapshot when restarted while Kafka is unreachable, and says it is degraded', async () => {
    await producer.publish('203.0.113.9', decision('203.0.113.9', 'deny'));
    await waitFor('the second deny', 10_000, async () =>
      (await statusOf('203.0.113.9')) === 403 ? true : undefined,
    );
    expect(await agent.stop()).toBe(0); // SIGTERM: writes the snapshot on the way out

    // Nothing listens on this port: the agent cannot reach any broker.
    const deadBroker = `127.0.0.1:${await freePort()}`;
    agent = startAgent({
      name: 'node-agent-2-no-kafka',
      logDir: DIR,
      port: agentPort,
      prefix: RUN,
      brokers: [deadBroker],
      env: AGENT_ENV,
    });
    await waitFor(
      'the restarted agent to answer',
      30_000,
      async () => (await readiness(agent)).http === 200,
    );
    expect(await statusOf('203.0.113.9')).toBe(403);
    expect(await statusOf('203.0.113.7')).toBe(200); // lifted before the restart
    expect(await statusOf('198.51.100.30', '/login')).toBe(403);
    expect(await statusOf('192.0.2.10')).toBe(200);

    const ready = await waitFor(
      'the agent to notice Kafka is unreachable',
      60_000,
      async () => {
        const r = await readiness(agent);
        return r.decisions?.detail.includes('Kafka unavailable') ? r : undefined;
      },
      200,
    );
    expect(ready).toMatchObject({
      http: 200,
      status: 'degraded',
      decisions: { state: 'degraded' },
    });
    expect(ready.decisions!.detail).toMatch(/enforcing the snapshot of .* \(2 decisions\)/);
    const metrics = await (await fetch(agent.url('/metrics'))).text();
    expect(metrics).toContain('moat_node_agent_degraded{service="node-agent"} 1');
    expect(metrics).toContain('moat_node_agent_kafka_up{service="node-agent"} 0');
    // Kafka's absence is noticed at the first refused connection, so count a second or more.
    await waitFor(
      'the degraded time to be counted',
      10_000,
      async () => {
        const text = await (await fetch(agent.url('/metrics'))).text();
        return /moat_node_agent_degraded_seconds_total\{service="node-agent"\} [1-9]/.test(text)
          ? true
          : undefined;
      },
      200,
    );
  }, 120_000);

  it('catches up when Kafka is back, dropping a decision lifted while it was away', async () => {
    await producer.publish('203.0.113.9', null);
    expect(await agent.stop()).toBe(0);
    agent = startAgent({
      name: 'node-agent-3',
      logDir: DIR,
      port: agentPort,
      prefix: RUN,
      env: AGENT_ENV,
    });
    await waitFor(
      'the agent to catch up',
      60_000,
      async () => {
        const r = await readiness(agent);
        return r.decisions?.state === 'ok' ? true : undefined;
      },
      100,
    );
    expect(await statusOf('203.0.113.9')).toBe(200);
    expect(await statusOf('198.51.100.31', '/login')).toBe(403);
  }, 90_000);
});
