import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { capturingIntake, counterValue, quietLogger, TEST_SECRET, until } from '../testing/capture';
import { NginxMirrorSource } from './nginx-mirror.source';
import { RequestJoiner } from './request-joiner';

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  return new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const agentHeaders = {
  'x-moat-request-id': 'req-1',
  'x-moat-client-addr': '198.51.100.20',
  'x-moat-uri': '/api/login?next=/home',
  'x-moat-time': '1764000000.250',
  'x-moat-host': 'shop.example',
};

describe('NginxMirrorSource', () => {
  it('answers 204 and publishes the client request with its headers in order and a hashed username', async () => {
    const { intake, producer } = capturingIntake();
    const source = new NginxMirrorSource(
      { host: '127.0.0.1', port: 0, maxBodyBytes: 1024 },
      intake,
      undefined,
      quietLogger,
    );
    await source.start();
    try {
      const status = await send(
        source.port!,
        'POST',
        '/v1/mirror',
        {
          Host: 'shop.example',
          'User-Agent': 'Mozilla/5.0',
          Cookie: 'sid=abc',
          'Content-Type': 'application/json',
          ...agentHeaders,
        },
        JSON.stringify({ username: 'Dana', password: 'secret' }),
      );
      expect(status).toBe(204);
      await until('the record', () => producer.records.length === 1);
      const record = producer.records[0];
      expect(record).toMatchObject({
        id: 'req-1',
        ts: 1_764_000_000_250,
        ip: '198.51.100.20',
        app: 'shop.example',
        method: 'POST',
        path: '/api/login',
        query: { next: '/home' },
        status: 0,
        source: 'nginx-mirror',
        headerNames: ['host', 'user-agent', 'cookie', 'content-type', 'content-length'],
        usernameHash: createHmac('sha256', TEST_SECRET).update('username\0\0dana').digest('hex'),
      });
      expect(JSON.stringify(record)).not.toMatch(/Dana|secret|abc/);
    } finally {
      await source.stop();
    }
  });

  it('hands mirrors to the joiner, reads past an over-long body, refuses requests without the agent headers', async () => {
    const { intake, producer, metrics } = capturingIntake();
    const joined: string[] = [];
    const joiner = new RequestJoiner(async (input) => {
      joined.push(input.path);
    });
    const source = new NginxMirrorSource(
      { host: '127.0.0.1', port: 0, maxBodyBytes: 16 },
      intake,
      joiner,
      quietLogger,
    );
    await source.start();
    try {
      expect(
        await send(
          source.port!,
          'PUT',
          '/v1/mirror',
          { 'content-type': 'text/plain', ...agentHeaders },
          'y'.repeat(100_000),
        ),
      ).toBe(204);
      expect(await send(source.port!, 'GET', '/v1/mirror', { 'x-moat-uri': '/no-client' })).toBe(
        204,
      );
      await until('the refusal', () => source.counts.invalid === 1);
      expect(joiner.pending).toBe(1);
      await joiner.stop();
      expect(joined).toEqual(['/api/login?next=/home']);
      expect(producer.records).toHaveLength(0);
      expect(
        await counterValue(metrics, 'moat_mirror_rejected_total', {
          source: 'nginx-mirror',
          reason: 'invalid',
        }),
      ).toBe(1);
    } finally {
      await source.stop();
    }
  });
});
