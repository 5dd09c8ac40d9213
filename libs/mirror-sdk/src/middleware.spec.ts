import express from 'express';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { moatMirror, moatMirrorFastify } from './middleware';
import type { MirroredRequest } from './reporter';

function capture() {
  const sent: MirroredRequest[] = [];
  const impl = (async (_url: string, init: RequestInit) => {
    const batch = JSON.parse(init.body as string) as MirroredRequest[];
    sent.push(...batch);
    return new Response(JSON.stringify({ accepted: batch.length, rejected: [] }), { status: 202 });
  }) as unknown as typeof fetch;
  return { sent, impl };
}

describe('Express middleware', () => {
  it('reports each request with status, sizes, latency, headers in order and a login body', async () => {
    const { sent, impl } = capture();
    const app = express();
    app.use(express.json());
    const mirror = moatMirror({ endpoint: 'http://agent/v1/requests', fetch: impl, app: 'shop' });
    app.use(mirror);
    app.post('/api/login', (_req, res) => {
      res.status(401).json({ error: 'bad credentials' });
    });
    app.get('/api/items/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    const server = app.listen(0);
    const port = (server.address() as AddressInfo).port;
    try {
      await fetch(`http://127.0.0.1:${port}/api/items/7?x=1`, {
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      await fetch(`http://127.0.0.1:${port}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'eve', password: 'pw' }),
      });
      await mirror.observer.reporter.close();
    } finally {
      server.close();
    }
    expect(sent).toHaveLength(2);
    const [item, login] = sent;
    expect(item).toMatchObject({
      method: 'GET',
      path: '/api/items/7?x=1',
      status: 200,
      app: 'shop',
    });
    expect(item.ip).toMatch(/127\.0\.0\.1/);
    expect(item.headers?.['x-forwarded-for']).toBe('203.0.113.9');
    expect(Object.keys(item.headers ?? {})[0]).toBe('host');
    expect(item.responseBytes).toBeGreaterThan(0);
    expect(item.latencyMs).toBeGreaterThanOrEqual(0);
    expect(item).not.toHaveProperty('body');
    expect(login).toMatchObject({
      method: 'POST',
      status: 401,
      body: '{"username":"eve","password":"pw"}',
    });
  });
});

describe('Fastify hooks', () => {
  it('reports each request with the parsed login body', async () => {
    const { sent, impl } = capture();
    const app = Fastify();
    const observer = moatMirrorFastify(app, { endpoint: 'http://agent/v1/requests', fetch: impl });
    app.post('/auth/token', async (_req, reply) => reply.code(200).send({ token: 't' }));
    app.get('/health', async () => 'ok');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    try {
      await fetch(`http://127.0.0.1:${port}/health`);
      await fetch(`http://127.0.0.1:${port}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'f@x.y', password: 'pw' }),
      });
      await observer.reporter.flush();
    } finally {
      await app.close();
    }
    expect(sent.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', '/health', 200],
      ['POST', '/auth/token', 200],
    ]);
    expect(sent[1].body).toBe('{"email":"f@x.y","password":"pw"}');
  });
});
