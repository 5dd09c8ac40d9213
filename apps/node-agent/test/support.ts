/**
 * What the node agent's integration tests share: the built agent as its own process, NGINX
 * (installed with apt-get when missing, so a fresh CI machine runs the test), a protected test
 * upstream, a decision producer on the real Kafka through the stream kit, and waits.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Decision } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import {
  createDistributedRuntime,
  probeInfrastructure,
  type StreamRuntime,
} from '@moat/stream-kit';

export const ROOT = join(__dirname, '../../..');
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Fails (never skips) when the real Kafka or Redis is unreachable. */
export async function requireInfrastructure(brokers: string[] = BROKERS): Promise<void> {
  await probeInfrastructure({ brokers, redisUrl: REDIS_URL }).catch((err: Error) => {
    throw new Error(
      `Integration tests need the real Kafka and Redis (${err.message}). Run them through \`npm test\`, which starts both.`,
    );
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | false>,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Agent {
  port: number;
  url(path: string): string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  log(): string;
}

export function startAgent(options: {
  name: string;
  logDir: string;
  port: number;
  prefix: string;
  brokers?: string[];
  env?: Record<string, string>;
}): Agent {
  mkdirSync(options.logDir, { recursive: true });
  const logPath = join(options.logDir, `${options.name}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, [join(ROOT, 'apps/node-agent/dist/main.js')], {
    env: {
      ...process.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: (options.brokers ?? BROKERS).join(','),
      MOAT_TOPIC_PREFIX: options.prefix,
      MOAT_TOPIC_PARTITIONS: '3',
      LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    port: options.port,
    url: (path) => `http://127.0.0.1:${options.port}${path}`,
    child,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    log: () => {
      try {
        return readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n');
      } catch {
        return '(no log)';
      }
    },
  };
}

export async function readiness(agent: Agent): Promise<{
  http: number;
  status: string;
  decisions?: { state: string; detail: string };
}> {
  const res = await fetch(agent.url('/readyz'));
  const body = (await res.json()) as {
    status: string;
    checks?: Record<string, { state: string; detail: string }>;
  };
  return { http: res.status, status: body.status, decisions: body.checks?.decisions };
}

/** A runtime that publishes decisions as scoring would. */
export async function decisionProducer(prefix: string, brokers: string[] = BROKERS) {
  const runtime: StreamRuntime = createDistributedRuntime({
    service: 'test-scoring',
    brokers,
    topicPrefix: prefix,
    partitions: 3,
    replicationFactor: 1,
    redisUrl: REDIS_URL,
    redisPrefix: `${prefix}:`,
    store: 'memory',
    logger: createLogger('test-scoring', 'warn'),
  });
  await runtime.start();
  return {
    runtime,
    publish: (subject: string, value: Decision | null) =>
      runtime.publish('decisions', [{ key: subject, value }], 'test-scoring'),
    close: () => runtime.close(),
  };
}

export function decision(subject: string, action: Decision['action'], ttlMs = 3_600_000): Decision {
  const now = Date.now();
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
    expiresAt: now + ttlMs,
  };
}

/** A protected API stand-in: echoes what reached it, including Moat's verdict header. */
export async function startUpstream(): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        upstream: true,
        uri: req.url,
        moatAction: req.headers['x-moat-action'] ?? null,
        xff: req.headers['x-forwarded-for'] ?? null,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

/** The nginx binary, installed from Debian's packages when missing. */
export function ensureNginx(): string {
  const find = () => {
    for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) {
      if (spawnSync(candidate, ['-v']).status === 0) return candidate;
    }
    return undefined;
  };
  const found = find();
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 240_000 });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx'], {
    stdio: 'inherit',
    env,
    timeout: 240_000,
  });
  // Debian starts the packaged service on install; this test runs its own instance.
  spawnSync('service', ['nginx', 'stop']);
  const installed = find();
  if (!installed) throw new Error('nginx is not installed and apt-get could not install it');
  return installed;
}

export interface Nginx {
  port: number;
  stateDir: string;
  stop(): Promise<void>;
}

/** Renders the test's nginx.conf and runs NGINX in the foreground (its own master process). */
export async function startNginx(options: {
  binary: string;
  stateDir: string;
  agentPort: number;
  upstreamPort: number;
}): Promise<Nginx> {
  const port = await freePort();
  mkdirSync(options.stateDir, { recursive: true });
  // Workers run as nobody: they must be able to reach the temp directories.
  chmodSync(options.stateDir, 0o755);
  const conf = readFileSync(join(__dirname, 'nginx/nginx.conf.template'), 'utf8')
    .replaceAll('{{STATE_DIR}}', options.stateDir)
    .replaceAll('{{NODE_AGENT_ADDR}}', `127.0.0.1:${options.agentPort}`)
    .replaceAll('{{UPSTREAM_ADDR}}', `127.0.0.1:${options.upstreamPort}`)
    .replaceAll('{{LISTEN_PORT}}', String(port));
  const confPath = join(options.stateDir, 'nginx.conf');
  writeFileSync(confPath, conf);
  execFileSync(options.binary, ['-t', '-q', '-c', confPath]);
  const child = spawn(options.binary, ['-c', confPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(`NGINX on port ${port} (${stderr})`, 10_000, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/_nginx_probe`).catch(() => undefined);
    return res !== undefined;
  });
  return {
    port,
    stateDir: options.stateDir,
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
    },
  };
}
