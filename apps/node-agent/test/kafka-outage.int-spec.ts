/**
 * A real Kafka outage: the test starts its own single-node broker (scripts/kafka.sh on a free
 * port, so the shared broker is never touched), the node agent follows it, then the broker is
 * stopped. The running agent keeps enforcing what it knows and reports degraded; restarted
 * while the broker is still down, it enforces its snapshot from disk.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  decision,
  decisionProducer,
  freePort,
  readiness,
  requireInfrastructure,
  ROOT,
  startAgent,
  waitFor,
  type Agent,
} from './support';

const RUN = `na-outage-${Date.now()}`;
const DIR = join(ROOT, 'tmp', RUN);
const SNAPSHOT = join(DIR, 'node-agent.decisions.snapshot');

function isFree(candidate: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(candidate, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kafka(command: 'start' | 'stop', port: number): void {
  execFileSync('bash', [join(ROOT, 'scripts/kafka.sh'), command], {
    env: { ...process.env, KAFKA_PORT: String(port), KAFKA_HEAP_OPTS: '-Xmx384m -Xms384m' },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 150_000,
  });
}

describe('node agent through a real Kafka outage', () => {
  let port: number;
  let brokers: string[];
  let agent: Agent;
  let agentPort: number;
  let brokerUp = false;
  const check = async (ip: string) =>
    (await fetch(agent.url('/v1/check'), { headers: { 'x-forwarded-for': ip } })).status;

  beforeAll(async () => {
    mkdirSync(DIR, { recursive: true });
    // A free port whose neighbour (the KRaft controller port) is free too.
    for (;;) {
      port = await freePort();
      if (port < 65_000 && (await isFree(port + 1))) break;
    }
    brokers = [`127.0.0.1:${port}`];
    kafka('start', port);
    brokerUp = true;
    await requireInfrastructure(brokers);
    agentPort = await freePort();
    agent = startAgent({
      name: 'node-agent-1',
      logDir: DIR,
      port: agentPort,
      prefix: RUN,
      brokers,
      env: { MOAT_SNAPSHOT_PATH: SNAPSHOT, MOAT_SNAPSHOT_INTERVAL: '1s' },
    });
    await waitFor(
      'the agent to catch up',
      60_000,
      async () => (await readiness(agent)).decisions?.state === 'ok',
      100,
    );
  }, 240_000);

  afterAll(async () => {
    await agent?.stop();
    if (brokerUp) kafka('stop', port);
    // kafka.sh keeps a run directory per port under .cache/kafka; this port was only ours.
    if (port) rmSync(join(ROOT, '.cache/kafka', `run-${port}`), { recursive: true, force: true });
  }, 60_000);

  it('keeps enforcing when the broker stops, reports degraded, and restarts from its snapshot', async () => {
    const producer = await decisionProducer(RUN, brokers);
    try {
      await producer.publish('203.0.113.70', decision('203.0.113.70', 'deny'));
      await producer.publish('2001:db8:70::/64', decision('2001:db8:70::/64', 'deny'));
    } finally {
      await producer.close();
    }
    await waitFor(
      'both decisions',
      10_000,
      async () => (await check('203.0.113.70')) === 403 && (await check('2001:db8:70::1')) === 403,
    );
    // Let the periodic snapshot (1 s) capture them.
    await new Promise((r) => setTimeout(r, 1500));

    kafka('stop', port);
    brokerUp = false;
    const degraded = await waitFor(
      'the agent to report the outage',
      90_000,
      async () => {
        const r = await readiness(agent);
        return r.decisions?.state === 'degraded' ? r : undefined;
      },
      250,
    );
    expect(degraded.http).toBe(200);
    expect(degraded.decisions!.detail).toMatch(
      /Kafka unavailable .*: enforcing the 2 last known decisions/,
    );
    expect(await check('203.0.113.70')).toBe(403);
    expect(await check('192.0.2.70')).toBe(204);

    // Restart with the broker still down: the snapshot is all it has.
    expect(await agent.stop()).toBe(0);
    agent = startAgent({
      name: 'node-agent-2-broker-down',
      logDir: DIR,
      port: agentPort,
      prefix: RUN,
      brokers,
      env: { MOAT_SNAPSHOT_PATH: SNAPSHOT },
    });
    await waitFor('the restarted agent', 30_000, async () => (await readiness(agent)).http === 200);
    expect(await check('203.0.113.70')).toBe(403);
    expect(await check('2001:db8:70::abcd')).toBe(403);
    expect(await check('192.0.2.70')).toBe(204);
    const restarted = await readiness(agent);
    expect(restarted).toMatchObject({ http: 200, status: 'degraded' });
    expect(restarted.decisions!.detail).toContain('enforcing the snapshot of');
  }, 180_000);
});
