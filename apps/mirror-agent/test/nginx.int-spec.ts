/**
 * NGINX for real, with the reference configuration (deploy/nginx): NGINX (installed from
 * Debian's packages when missing) listens on a loopback port in front of a small demo API; its
 * JSON access log is followed by the mirror agent and every request is mirrored to it; the node
 * agent answers NGINX's auth_request. Real HTTP requests from several client addresses (behind
 * a trusted proxy, so realip applies) must arrive on <prefix>.requests.v1 — one record per
 * request, the mirror and the log line joined, credentials hashed — and once a decision exists
 * for an address, NGINX must answer 403 to it and keep serving the others.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Decision, RequestRecord } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import {
  createDistributedRuntime,
  KafkaBus,
  probeInfrastructure,
  type StreamRuntime,
  type Subscription,
} from '@moat/stream-kit';

const ROOT = join(__dirname, '../../..');
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `nginx-it-${Date.now()}`;
const DIR = join(ROOT, 'tmp', RUN);
const SECRET = 'nginx-it-secret-0123456789abcdef';
const BASE = 20_000 + Math.floor(Math.random() * 20_000);
const PORTS = {
  nginx: BASE,
  api: BASE + 1,
  mirrorHttp: BASE + 2,
  mirror: BASE + 3,
  nodeAgent: BASE + 4,
};

const children: { name: string; child: ChildProcess }[] = [];
let api: Server;
let runtime: StreamRuntime;
let consumer: { bus: KafkaBus; subscription: Subscription };
const received: RequestRecord[] = [];
const rawValues: string[] = [];

const hmac = (kind: string, name: string, value: string) =>
  createHmac('sha256', SECRET).update(`${kind}\0${name}\0${value}`).digest('hex');

function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv) {
  const log = createWriteStream(join(DIR, `${name}.log`));
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  children.push({ name, child });
  return child;
}

function logOf(name: string): string {
  try {
    return readFileSync(join(DIR, `${name}.log`), 'utf8')
      .split('\n')
      .slice(-25)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}\n--- mirror-agent\n${logOf('mirror-agent')}\n--- node-agent\n${logOf('node-agent')}\n--- nginx\n${logOf('nginx')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ready = (port: number) => async () =>
  (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;

function through(
  client: string,
  path: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`http://127.0.0.1:${PORTS.nginx}${path}`, {
    ...init,
    // The test is the load balancer in front of NGINX (REAL_IP_FROM=127.0.0.1).
    headers: { 'x-forwarded-for': client, ...init.headers },
  });
}

describe('NGINX in front of an API, feeding the mirror agent and enforced by the node agent', () => {
  beforeAll(async () => {
    mkdirSync(DIR, { recursive: true });
    await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch((err: Error) => {
      throw new Error(
        `Integration tests need the real Kafka and Redis (${err.message}). Run them through \`npm test\`, which starts both.`,
      );
    });
    const nginx = execFileSync('bash', [join(__dirname, 'ensure-nginx.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600_000,
    }).trim();

    // The demo API: a JSON echo of what NGINX passed on.
    api = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ api: 'demo', method: req.method, url: req.url }));
      });
    });
    await new Promise<void>((resolve) => api.listen(PORTS.api, '127.0.0.1', resolve));

    // Topics exist before anyone reads them; the test reads requests and writes decisions.
    runtime = createDistributedRuntime({
      service: 'nginx-it',
      brokers: BROKERS,
      topicPrefix: RUN,
      partitions: 2,
      replicationFactor: 1,
      redisUrl: REDIS_URL,
      redisPrefix: `${RUN}:`,
      store: 'memory',
      logger: createLogger('nginx-it', 'warn'),
    });
    await runtime.start();
    const bus = new KafkaBus({
      brokers: BROKERS,
      clientId: `${RUN}-reader`,
      partitions: 2,
      replicationFactor: 1,
      logger: createLogger('nginx-it-reader', 'warn'),
    });
    await bus.connect();
    const subscription = await bus.subscribe({
      groupId: `${RUN}-reader`,
      topics: [runtime.topics.requests],
      mode: 'broadcast',
      onBatch: async (batch) => {
        for (const m of batch.messages) {
          const text = m.value!.toString('utf8');
          rawValues.push(text);
          received.push(JSON.parse(text) as RequestRecord);
        }
      },
    });
    consumer = { bus, subscription };

    const common = {
      ...process.env,
      HOST: '127.0.0.1',
      KAFKA_BROKERS: BROKERS.join(','),
      REDIS_URL,
      MOAT_TOPIC_PREFIX: RUN,
      MOAT_TOPIC_PARTITIONS: '2',
      MOAT_REDIS_PREFIX: `${RUN}:`,
      LOG_LEVEL: 'info',
    };
    startProcess('mirror-agent', process.execPath, [join(ROOT, 'apps/mirror-agent/dist/main.js')], {
      ...common,
      PORT: String(PORTS.mirrorHttp),
      MOAT_HASH_SECRET: SECRET,
      MOAT_TAIL_FILES: join(DIR, 'access.log'),
      MOAT_TAIL_START: 'beginning',
      MOAT_TAIL_STATE_DIR: join(DIR, 'tail-state'),
      MOAT_NGINX_MIRROR: `127.0.0.1:${PORTS.mirror}`,
    });
    startProcess('node-agent', process.execPath, [join(ROOT, 'apps/node-agent/dist/main.js')], {
      ...common,
      PORT: String(PORTS.nodeAgent),
      MOAT_TRUSTED_PROXIES: '127.0.0.1',
      MOAT_SNAPSHOT_PATH: 'off',
    });

    const conf = join(DIR, 'nginx', 'nginx.conf');
    execFileSync('bash', [join(ROOT, 'deploy/nginx/render.sh'), conf], {
      env: {
        ...process.env,
        NODE_AGENT_ADDR: `127.0.0.1:${PORTS.nodeAgent}`,
        MIRROR_AGENT_ADDR: `127.0.0.1:${PORTS.mirror}`,
        UPSTREAM_ADDR: `127.0.0.1:${PORTS.api}`,
        LISTEN_PORT: `127.0.0.1:${PORTS.nginx}`,
        NGINX_STATE_DIR: join(DIR, 'nginx'),
        ACCESS_LOG: join(DIR, 'access.log'),
        REAL_IP_FROM: '127.0.0.1',
      },
    });
    // Workers of an NGINX started as root run as nobody and buffer request bodies here.
    chmodSync(join(DIR, 'nginx'), 0o777);
    execFileSync(nginx, ['-t', '-q', '-c', conf]);
    startProcess('nginx', nginx, ['-c', conf, '-g', 'daemon off;'], process.env);

    await waitFor('the mirror agent to be ready', 60_000, ready(PORTS.mirrorHttp));
    await waitFor('the node agent to be ready', 60_000, ready(PORTS.nodeAgent));
    await waitFor('NGINX to serve', 30_000, async () =>
      (await through('192.0.2.1', '/warm-up')).status === 200 ? true : undefined,
    );
  });

  afterAll(async () => {
    for (const { child } of children.reverse()) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            r(undefined);
          }, 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            r(undefined);
          });
        });
      }
    }
    await consumer?.subscription.stop();
    await consumer?.bus.close();
    await runtime?.close();
    await new Promise((r) => api?.close(r));
  });

  it('publishes every request through NGINX on moat.requests.v1, mirror and log joined', async () => {
    const login = { username: 'Alice@Example.COM', password: 'correct horse battery staple' };
    const responses = [
      await through('203.0.113.10', '/api/products/42?color=red', {
        headers: {
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
          accept: 'application/json',
          'accept-language': 'de-DE,de;q=0.9',
          cookie: 'sid=SESSION-SECRET-123; theme=dark',
        },
      }),
      await through('203.0.113.11', '/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer TOKEN-SECRET-456' },
        body: JSON.stringify(login),
      }),
      await through('2001:db8::11', '/api/search?q=boots&access_token=QUERY-SECRET-789'),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { api: string }[];
    expect(bodies.every((b) => b.api === 'demo')).toBe(true);

    const records = await waitFor('the three requests on the requests topic', 30_000, async () => {
      const mine = received.filter((r) => r.ip !== '192.0.2.1');
      return mine.length >= 3 ? mine : undefined;
    });
    // Exactly once each (the log line and the mirror make one record).
    expect(records).toHaveLength(3);
    const byIp = new Map(records.map((r) => [r.ip, r]));

    const product = byIp.get('203.0.113.10')!;
    expect(product).toMatchObject({
      method: 'GET',
      path: '/api/products/42',
      query: { color: 'red' },
      status: 200,
      acceptLanguage: 'de-DE,de;q=0.9',
      source: 'nginx-mirror',
    });
    expect(product.responseBytes).toBeGreaterThan(0);
    expect(product.latencyMs).toBeGreaterThanOrEqual(0);
    expect(product.userAgent).toContain('Firefox/133.0');
    expect(product.credentials).toEqual([
      { kind: 'cookie', name: 'sid', hash: hmac('cookie', 'sid', 'SESSION-SECRET-123') },
    ]);
    expect(product.headerNames).toEqual(expect.arrayContaining(['user-agent', 'accept', 'cookie']));
    expect(product.headerNames.some((h) => h.startsWith('x-moat-'))).toBe(false);
    expect(product.headerFingerprint).toMatch(/^[0-9a-f]{16}$/);

    const loginRecord = byIp.get('203.0.113.11')!;
    expect(loginRecord).toMatchObject({ method: 'POST', path: '/api/login', status: 200 });
    expect(loginRecord.usernameHash).toBe(hmac('username', '', 'alice@example.com'));
    expect(loginRecord.credentials).toEqual([
      {
        kind: 'bearer',
        name: 'authorization',
        hash: hmac('bearer', 'authorization', 'TOKEN-SECRET-456'),
      },
    ]);

    const search = byIp.get('2001:db8::11')!;
    expect(search.query.q).toBe('boots');
    expect(search.query.access_token).toMatch(/^hmac:[0-9a-f]{64}$/);

    // Clear-text credentials never left the agent.
    const published = rawValues.join('\n');
    for (const secret of [
      'SESSION-SECRET-123',
      'TOKEN-SECRET-456',
      'QUERY-SECRET-789',
      'correct horse',
      'Alice@Example.COM',
      'alice@example.com',
    ]) {
      expect(published).not.toContain(secret);
    }
  });

  it('answers 403 to an address once a decision exists for it, and serves the others', async () => {
    const blocked = '203.0.113.66';
    expect((await through(blocked, '/api/products/1')).status).toBe(200);
    const now = Date.now();
    const decision: Decision = {
      v: 1,
      subject: blocked,
      action: 'deny',
      source: 'auto',
      botTypes: ['scraping'],
      confidence: 0.95,
      detectors: [
        { detector: 'request-rate', weight: 1, evidence: [{ metric: 'rate', value: 120 }] },
      ],
      profile: 'default',
      createdAt: now,
      expiresAt: now + 3_600_000,
    };
    await runtime.publish('decisions', [{ key: blocked, value: decision }], 'nginx-it');
    const status = await waitFor('NGINX to refuse the decided address', 20_000, async () => {
      const response = await through(blocked, '/api/products/1');
      return response.status === 403 ? response : undefined;
    });
    expect(await status.json()).toEqual({ error: 'blocked by Moat' });
    expect((await through('203.0.113.67', '/api/products/1')).status).toBe(200);
    // The refused request still reaches Moat, from the access log alone (it was not mirrored).
    const refused = await waitFor('the refused request on the requests topic', 20_000, async () =>
      received.find((r) => r.ip === blocked && r.status === 403),
    );
    expect(refused.source).toBe('nginx-json');
  });
});
