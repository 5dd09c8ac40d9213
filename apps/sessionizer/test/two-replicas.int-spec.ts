/**
 * Two sessionizer replicas (separate processes of apps/sessionizer) share the topics on the
 * real Kafka broker and the real Redis; labelled simulator traffic — people whose cookie and
 * token sessions move between addresses, an IP-rotation bot whose one session hops over a
 * hundred addresses (and so over every partition), credential stuffing, session rotation — is
 * published while they run, and one replica is killed with SIGKILL mid-stream. Every request
 * must come out as an event, and every session must be the one a single sessionizer builds from
 * the same traffic (its id, request count and counters): no event lost, no session split or
 * double-counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codecs, type RequestRecord, type SessionEvent } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import { collectSessionEvents, population, simulate, toRequestRecords } from '@moat/simulator';
import {
  createDistributedRuntime,
  probeInfrastructure,
  type StreamRuntime,
  type Subscription,
} from '@moat/stream-kit';

const ROOT = join(__dirname, '../../..');
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `it-sessionizer-${randomUUID().slice(0, 8)}`;
const PARTITIONS = 6;
const SECRET = 'two-replicas-secret-0123456789';
const LOG_DIR = mkdtempSync(join(tmpdir(), `${RUN}-`));
const PORT_BASE = 19_000 + Math.floor(Math.random() * 800);

interface Replica {
  name: string;
  port: number;
  child?: ChildProcess;
  exit?: Promise<number | null>;
}

const replicas: Replica[] = [
  { name: 'sessionizer-a', port: PORT_BASE },
  { name: 'sessionizer-b', port: PORT_BASE + 1 },
];

function start(replica: Replica): void {
  const log = createWriteStream(join(LOG_DIR, `${replica.name}.log`));
  const child = spawn(process.execPath, [join(ROOT, 'apps/sessionizer/dist/main.js')], {
    env: {
      ...process.env,
      PORT: String(replica.port),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: BROKERS.join(','),
      KAFKA_CLIENT_ID: replica.name,
      REDIS_URL,
      MOAT_TOPIC_PREFIX: RUN,
      MOAT_TOPIC_PARTITIONS: String(PARTITIONS),
      MOAT_REDIS_PREFIX: `${RUN}:`,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  replica.child = child;
  replica.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

const logOf = (replica: Replica) => {
  try {
    return readFileSync(join(LOG_DIR, `${replica.name}.log`), 'utf8');
  } catch {
    return '';
  }
};

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Outcome {
  count: number;
  startedAt: number;
  durationMs: number;
  authAttempts: number;
  authFailures: number;
  bytesIn: number;
  bytesOut: number;
  uniqueIps: number;
}

/** Each session's final state: the event with its highest count, superseded ids dropped. */
function finalSessions(events: SessionEvent[]): Map<string, Outcome> {
  const sessions = new Map<string, Outcome>();
  const superseded = new Set<string>();
  for (const e of events) {
    for (const id of e.supersedes ?? []) superseded.add(id);
    const known = sessions.get(e.sessionId);
    if (known && known.count >= e.session.requestCount) continue;
    const s = e.session;
    sessions.set(e.sessionId, {
      count: s.requestCount,
      startedAt: s.startedAt,
      durationMs: s.durationMs,
      authAttempts: s.authAttempts,
      authFailures: s.authFailures,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      uniqueIps: s.uniqueIps ?? 1,
    });
  }
  for (const id of superseded) sessions.delete(id);
  return sessions;
}

describe('two sessionizer replicas, one killed mid-stream', () => {
  let runtime: StreamRuntime;
  let reader: Subscription | undefined;
  const events: SessionEvent[] = [];
  let records: RequestRecord[] = [];
  let reference: SessionEvent[] = [];

  beforeAll(async () => {
    await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch((err: Error) => {
      throw new Error(
        `Integration tests need the real Kafka and Redis (${err.message}). Run them through \`npm test\`, which starts both.`,
      );
    });
    const options = population(404, {
      humans: 50,
      botsPerScenario: 1,
      spoof: false,
      durationMs: 3_600_000,
    });
    options.bots = options.bots.filter((b) =>
      ['ip-rotation', 'credential-stuffing', 'session-rotation', 'distributed-scraper'].includes(
        b.scenario,
      ),
    );
    const labelled = [...toRequestRecords(simulate(options), SECRET)];
    records = labelled.map((r) => r.record);
    // What one sessionizer builds from this traffic: the same code, one process, in memory.
    reference = (await collectSessionEvents(labelled)).map((e) => e.event);

    runtime = createDistributedRuntime({
      service: 'it-driver',
      brokers: BROKERS,
      topicPrefix: RUN,
      partitions: PARTITIONS,
      replicationFactor: 1,
      redisUrl: REDIS_URL,
      redisPrefix: `${RUN}:driver:`,
      logger: createLogger('it-driver', 'warn'),
    });
    await runtime.start();
    reader = await runtime.bus.subscribe({
      groupId: `${RUN}-reader`,
      topics: [runtime.topics.events],
      mode: 'broadcast',
      onBatch: async (batch) => {
        for (const m of batch.messages) {
          const decoded = codecs.events.decode(m.value);
          if (!decoded.ok || !decoded.value)
            throw new Error(`invalid event: ${decoded.ok ? 'null' : decoded.reason}`);
          events.push(decoded.value);
        }
      },
    });
    replicas.forEach(start);
    await Promise.all(
      replicas.map((r) =>
        waitFor(`${r.name} /readyz`, 60_000, async () =>
          (await fetch(`http://127.0.0.1:${r.port}/readyz`)).ok ? true : undefined,
        ),
      ),
    ).catch((err: Error) => {
      for (const r of replicas) process.stdout.write(`--- ${r.name}\n${logOf(r).slice(-3000)}\n`);
      throw err;
    });
  }, 180_000);

  afterAll(async () => {
    for (const r of replicas)
      if (r.child && r.child.exitCode === null && r.child.signalCode === null)
        r.child.kill('SIGKILL');
    await reader?.stop();
    await runtime?.close();
  });

  it('loses no event and keeps every session intact', async () => {
    const [a, b] = replicas;
    // The traffic spans partitions: credential sessions whose requests come from several.
    const credentialIps = new Map<string, Set<string>>();
    for (const e of reference)
      if (e.sessionKeyKind === 'credential') {
        if (!credentialIps.has(e.sessionId)) credentialIps.set(e.sessionId, new Set());
        credentialIps.get(e.sessionId)!.add(e.request.ip);
      }
    expect(Math.max(...[...credentialIps.values()].map((ips) => ips.size))).toBeGreaterThan(50);

    // Published live, in event-time order, in chunks; B is killed part-way through.
    const chunks = 30;
    const size = Math.ceil(records.length / chunks);
    let killedAfter = -1;
    for (let i = 0; i < chunks; i++) {
      const chunk = records.slice(i * size, (i + 1) * size);
      await runtime.publish(
        'requests',
        chunk.map((r) => ({ key: r.ip, value: r })),
        'it-driver',
      );
      if (i === Math.floor(chunks * 0.4)) {
        // Both replicas have been working: B dies with batches in flight.
        await waitFor('events from the first chunks', 30_000, async () =>
          events.length > size ? true : undefined,
        );
        const metrics = await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text();
        const consumed = (service: string) =>
          Number(
            new RegExp(`moat_messages_consumed_total\\{service="${service}"[^}]*\\} (\\d+)`).exec(
              metrics,
            )?.[1] ?? 0,
          );
        process.stdout.write(
          `sessionizer-b consumed ${consumed('sessionizer')} requests, ${consumed('sessionizer-sessions')} re-keyed\n`,
        );
        expect(consumed('sessionizer') + consumed('sessionizer-sessions')).toBeGreaterThan(0);
        b.child!.kill('SIGKILL');
        killedAfter = events.length;
        process.stdout.write(
          `SIGKILL sessionizer-b after ${killedAfter} events of ${records.length}\n`,
        );
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(await b.exit).toBeNull(); // killed by a signal, not exited

    const wanted = new Set(records.map((r) => r.id));
    const started = Date.now();
    await waitFor('an event for every request', 120_000, async () => {
      const seen = new Set(events.map((e) => e.request.id));
      return [...wanted].every((id) => seen.has(id)) ? true : undefined;
    }).catch((err: Error) => {
      const seen = new Set(events.map((e) => e.request.id));
      process.stdout.write(
        `missing ${[...wanted].filter((id) => !seen.has(id)).length}\n--- a\n${logOf(a).slice(-3000)}\n`,
      );
      throw err;
    });
    // Let redelivered batches (if any) land before comparing.
    await new Promise((r) => setTimeout(r, 2_000));
    const duplicates = events.length - new Set(events.map((e) => e.request.id)).size;
    process.stdout.write(
      `all ${wanted.size} requests sessionized ${((Date.now() - started) / 1000).toFixed(1)} s after the last chunk; ` +
        `${duplicates} events delivered twice (at-least-once, same ids)\n`,
    );

    // No event lost, none invented.
    expect(new Set(events.map((e) => e.request.id))).toEqual(wanted);
    // A redelivered event is the same event (same session, same place in it).
    const first = new Map<string, SessionEvent>();
    const differing: string[] = [];
    for (const e of events) {
      const seen = first.get(e.request.id);
      if (!seen) first.set(e.request.id, e);
      else if (
        seen.sessionId !== e.sessionId ||
        seen.session.requestCount !== e.session.requestCount
      )
        differing.push(e.request.id);
    }
    expect(differing).toEqual([]);
    // Every session as the single sessionizer built it: same ids, same counts and counters.
    const got = finalSessions(events);
    const want = finalSessions(reference);
    expect(got.size).toBe(want.size);
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...want].sort()));
    // A is still healthy and carried B's partitions.
    expect(a.child!.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${a.port}/readyz`)).ok).toBe(true);
  }, 240_000);
});
