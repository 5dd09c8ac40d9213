/**
 * The README's main command as a user runs it: the built standalone process (every service in
 * one process, no Kafka, no Redis), configured through the same variables as the distributed
 * services — a profile file for scoring, a block status for the node agent. Traffic goes in
 * over HTTP as an edge would mirror it, and the forward-auth check blocks the scanner while it
 * lets a person through. A bad setting stops it with a clear error.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAIN = join(__dirname, '../dist/main.js');
const SCANNER = '198.51.100.23';
const PERSON = '203.0.113.50';
const DENIED_BY_HAND = '203.0.113.9';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
    server.on('error', reject);
  });
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('standalone (npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-standalone-'));
  const profiles = join(dir, 'profiles.json');
  let child: ChildProcess;
  let output = '';
  let base = '';

  beforeAll(async () => {
    writeFileSync(
      profiles,
      JSON.stringify({
        profiles: [
          {
            name: 'edge-test',
            botTypes: ['security-crawler'],
            sensitivity: 'high',
            reaction: 'deny',
            duration: '2h',
          },
        ],
        manual: [{ subject: DENIED_BY_HAND, action: 'deny', for: '12h' }],
      }),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        MOAT_PROFILES_FILE: profiles,
        MOAT_BLOCK_STATUS: '429',
        MOAT_SNAPSHOT_PATH: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually('the standalone process to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output}`);
      return (await fetch(`${base}/readyz`)).ok || undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const check = (ip: string) =>
    fetch(`${base}/v1/check`, {
      headers: {
        'x-forwarded-for': ip,
        'x-original-uri': '/api/items/1',
        'x-original-method': 'GET',
      },
    });
  /** Forward-auth answers 403 to the proxy and names the status to send (MOAT_BLOCK_STATUS). */
  const blocked = async (ip: string) => {
    const answer = await check(ip);
    return answer.status === 403 && answer.headers.get('x-moat-status') === '429'
      ? true
      : undefined;
  };

  it('seeds the profiles and manual entries of MOAT_PROFILES_FILE', async () => {
    const policy = await eventually('the profile file in force', async () => {
      const body = (await (await fetch(`${base}/v1/scoring/policy`)).json()) as {
        profiles: { name: string }[];
        manual: { subject: string }[];
      };
      return body.profiles.some((p) => p.name === 'edge-test') && body.manual.length > 0
        ? body
        : undefined;
    });
    expect(policy.manual.map((m) => m.subject)).toContain(DENIED_BY_HAND);
    await eventually('the manual deny at the edge', () => blocked(DENIED_BY_HAND));
  });

  it('blocks a scanner it was mirrored, with the node agent’s status, and lets a person pass', async () => {
    const now = Date.now();
    const scanner = ['/.env', '/wp-login.php', '/.git/config', '/phpmyadmin/', '/admin.php'].map(
      (path, i) => ({
        ts: now + i * 50,
        ip: SCANNER,
        method: 'GET',
        path,
        status: 404,
        headers: { 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' },
      }),
    );
    const person = {
      ts: now,
      ip: PERSON,
      method: 'GET',
      path: '/',
      status: 200,
      headers: {
        'user-agent':
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36',
        accept: 'text/html',
        'accept-language': 'en-GB,en;q=0.9',
      },
    };
    const accepted = await fetch(`${base}/v1/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([...scanner, person]),
    });
    expect(accepted.status).toBeLessThan(300);
    await eventually('the scanner blocked at the edge', () => blocked(SCANNER));
    expect((await check(PERSON)).status).toBe(204);
    const bot = (await (await fetch(`${base}/v1/bots/${SCANNER}`)).json()) as {
      botTypes: string[];
    };
    expect(bot.botTypes).toContain('security-crawler');
  });

  it('refuses a profile file it cannot read, naming the variable', () => {
    const run = spawnSync(process.execPath, [MAIN], {
      // Refused before it listens: the port is never bound.
      env: { ...process.env, PORT: '65000', MOAT_PROFILES_FILE: join(dir, 'missing.json') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/^Configuration error: MOAT_PROFILES_FILE: /m);
  });
});
