// Shared by the node agent benchmarks: a built node agent as its own process on the real Kafka
// (a fresh topic prefix per run), a producer of decisions through the stream kit, and waits.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { createDistributedRuntime } = require('@moat/stream-kit');
const { createLogger } = require('@moat/observability');

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** Starts the built node agent; `cpu` pins it to one core with taskset when given. */
export function startAgent({ prefix, port, cpu, env = {}, logFile }) {
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const args = [join(ROOT, 'apps/node-agent/dist/main.js')];
  const command = cpu === undefined ? process.execPath : 'taskset';
  const argv = cpu === undefined ? args : ['-c', String(cpu), process.execPath, ...args];
  const child = spawn(command, argv, {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: BROKERS.join(','),
      MOAT_TOPIC_PREFIX: prefix,
      MOAT_TOPIC_PARTITIONS: '3',
      MOAT_SNAPSHOT_PATH: 'off',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    child,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A stream-kit runtime that publishes decisions on the bench's topics. */
export async function decisionProducer(prefix) {
  const runtime = createDistributedRuntime({
    service: 'bench-scoring',
    brokers: BROKERS,
    topicPrefix: prefix,
    partitions: 3,
    replicationFactor: 1,
    redisUrl: '',
    redisPrefix: '',
    store: 'memory',
    logger: createLogger('bench', 'warn'),
  });
  await runtime.start();
  return {
    publish: (entries) =>
      runtime.publish(
        'decisions',
        entries.map(([subject, value]) => ({ key: subject, value })),
        'bench-scoring',
      ),
    close: () => runtime.close(),
  };
}

export function decision(subject, action, now = Date.now()) {
  return {
    v: 1,
    subject,
    action,
    source: 'auto',
    botTypes: action === 'allow' ? [] : ['scraping'],
    confidence: 0.9,
    detectors: [],
    profile: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

export async function waitFor(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when the agent reports ready and caught up (its `decisions` check is ok). */
export function waitReady(agent, timeoutMs = 120_000) {
  return waitFor('the node agent to be caught up', timeoutMs, async () => {
    const res = await fetch(agent.url('/readyz'));
    const body = await res.json();
    return body.checks?.decisions?.state === 'ok';
  });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}
