import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicNames, type Decision } from '@moat/contracts';
import { createLogger, HealthRegistry, PipelineMetrics } from '@moat/observability';
import {
  createStandaloneRuntime,
  MemoryStateStore,
  StreamRuntime,
  type MessageBus,
} from '@moat/stream-kit';
import { DecisionFollower } from './decision-follower';
import { DecisionIndex } from './decision-index';

const dir = mkdtempSync(join(tmpdir(), 'moat-follower-spec-'));
const quiet = createLogger('test', 'silent');

function decision(subject: string, action: Decision['action'] = 'deny'): Decision {
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

/** A bus whose broker never answers, as when Kafka is stopped. */
function unreachableRuntime(): StreamRuntime {
  const bus: MessageBus = {
    kind: 'kafka',
    connect: () => Promise.reject(new Error('Cannot reach Kafka at 127.0.0.1:1')),
    ensureTopics: async () => undefined,
    producer: () => ({ send: async () => undefined }),
    subscribe: () => Promise.reject(new Error('not connected')),
    close: async () => undefined,
  };
  return new StreamRuntime(
    'distributed',
    bus,
    new MemoryStateStore(),
    topicNames('spec'),
    new PipelineMetrics({ defaultMetrics: false }),
    new HealthRegistry(),
    quiet,
  );
}

async function until(what: string, probe: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('DecisionFollower', () => {
  it('reads decisions published before and after it started, lifts them on tombstones', async () => {
    const runtime = createStandaloneRuntime({
      logger: quiet,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
    });
    await runtime.start();
    await runtime.publish(
      'decisions',
      [{ key: '203.0.113.7', value: decision('203.0.113.7') }],
      'scoring',
    );
    const index = new DecisionIndex();
    const follower = new DecisionFollower({ runtime, index, service: 'node-agent', logger: quiet });
    expect(follower.status().state).toBe('down');
    await follower.start();
    await follower.waitUntilCaughtUp(3000);
    await until('the first decision', () => index.lookup('203.0.113.7').action === 'deny');
    expect(follower.status()).toMatchObject({ state: 'ok', caughtUp: true, bus: 'ready' });

    await runtime.publish(
      'decisions',
      [{ key: '198.51.100.0/24', value: decision('198.51.100.0/24', 'graylist') }],
      'scoring',
    );
    await until('the second decision', () => index.lookup('198.51.100.9').action === 'graylist');
    await runtime.publish('decisions', [{ key: '203.0.113.7', value: null }], 'scoring');
    await until('the lift', () => index.lookup('203.0.113.7').action === 'allow');

    const metrics = await runtime.metrics.registry.metrics();
    expect(metrics).toContain(
      'moat_node_agent_decisions{service="node-agent",action="graylist"} 1',
    );
    expect(metrics).toContain('moat_node_agent_caught_up{service="node-agent"} 1');
    expect(metrics).toMatch(
      /moat_node_agent_decision_propagation_seconds_count\{service="node-agent"\} 2/,
    );
    await follower.stop();
    await runtime.close();
  });

  it('restarts from its snapshot while Kafka is unreachable and says it is degraded', async () => {
    const path = join(dir, 'restart.snapshot');
    const live = createStandaloneRuntime({
      logger: quiet,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
    });
    await live.start();
    await live.publish(
      'decisions',
      [{ key: '203.0.113.7', value: decision('203.0.113.7') }],
      'scoring',
    );
    const first = new DecisionFollower({
      runtime: live,
      index: new DecisionIndex(),
      service: 'node-agent',
      snapshotPath: path,
      logger: quiet,
    });
    await first.start();
    await first.waitUntilCaughtUp(3000);
    await first.stop(); // writes the snapshot
    await live.close();

    const runtime = unreachableRuntime();
    const index = new DecisionIndex();
    const second = new DecisionFollower({
      runtime,
      index,
      service: 'node-agent',
      snapshotPath: path,
      logger: quiet,
    });
    await second.start();
    expect(index.lookup('203.0.113.7').action).toBe('deny');
    await until('the failed connection', () => second.status().bus === 'down');
    const status = second.status();
    expect(status.state).toBe('degraded');
    expect(status.detail).toMatch(
      /Kafka unavailable \(Cannot reach Kafka at 127\.0\.0\.1:1\): enforcing the snapshot of .* \(1 decisions\)/,
    );
    const metrics = await runtime.metrics.registry.metrics();
    expect(metrics).toContain('moat_node_agent_degraded{service="node-agent"} 1');
    expect(metrics).toContain('moat_node_agent_kafka_up{service="node-agent"} 0');
    await second.stop();
  });

  it('fails open, degraded, with neither Kafka nor a snapshot', async () => {
    const runtime = unreachableRuntime();
    const follower = new DecisionFollower({
      runtime,
      index: new DecisionIndex(),
      service: 'node-agent',
      snapshotPath: join(dir, 'never-written', 'x.snapshot'),
      logger: quiet,
    });
    await follower.start();
    await until('the failed connection', () => follower.status().bus === 'down');
    expect(follower.status()).toMatchObject({ state: 'degraded', decisions: 0 });
    expect(follower.status().detail).toContain('no snapshot: failing open');
    await follower.stop();
  });

  it('drops snapshot entries the topic no longer holds once it has caught up', async () => {
    const path = join(dir, 'stale.snapshot');
    const old = createStandaloneRuntime({
      logger: quiet,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
    });
    await old.start();
    await old.publish(
      'decisions',
      [
        { key: '203.0.113.7', value: decision('203.0.113.7') },
        { key: '203.0.113.8', value: decision('203.0.113.8') },
      ],
      'scoring',
    );
    const first = new DecisionFollower({
      runtime: old,
      index: new DecisionIndex(),
      service: 'node-agent',
      snapshotPath: path,
      logger: quiet,
    });
    await first.start();
    await first.waitUntilCaughtUp(3000);
    await until('both decisions', () => first.indexCounts().deny === 2);
    await first.stop();
    await old.close();

    // The cluster the agent comes back to only holds one of the two (the other was lifted and
    // its tombstone compacted away while the agent was down).
    const runtime = createStandaloneRuntime({
      logger: quiet,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
    });
    await runtime.start();
    await runtime.publish(
      'decisions',
      [{ key: '203.0.113.8', value: decision('203.0.113.8') }],
      'scoring',
    );
    const index = new DecisionIndex();
    const second = new DecisionFollower({
      runtime,
      index,
      service: 'node-agent',
      snapshotPath: path,
      logger: quiet,
    });
    await second.start();
    await second.waitUntilCaughtUp(3000);
    expect(index.lookup('203.0.113.7').action).toBe('allow');
    expect(index.lookup('203.0.113.8').action).toBe('deny');
    await second.stop();
    await runtime.close();
  });
});
