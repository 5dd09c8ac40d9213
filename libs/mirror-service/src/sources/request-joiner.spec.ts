import type { MirrorInput } from '../mirror-input';
import { joinInputs, RequestJoiner } from './request-joiner';

const mirror: MirrorInput = {
  ip: '203.0.113.5',
  method: 'POST',
  path: '/login',
  status: 0,
  ts: 1000,
  headers: { host: 'a', cookie: 'sid=1' },
  body: '{"username":"u","password":"p"}',
};
const log: MirrorInput = {
  ip: '203.0.113.5',
  method: 'POST',
  path: '/login',
  status: 401,
  ts: 1200,
  id: 'rid',
  responseBytes: 90,
  latencyMs: 12,
  partialHeaders: true,
  headers: { 'user-agent': 'x' },
};

function setup(options = { mirrorWaitMs: 1000, logWaitMs: 100, maxPending: 3 }) {
  let now = 0;
  const released: { input: MirrorInput; source: string }[] = [];
  const joiner = new RequestJoiner(
    async (input, source) => {
      released.push({ input, source });
    },
    options,
    () => now,
  );
  return { joiner, released, at: (t: number) => (now = t) };
}

describe('RequestJoiner', () => {
  it('joins a mirror with the log line of the same request, in either order', async () => {
    const a = setup();
    a.joiner.mirror('rid', mirror);
    await a.joiner.log('rid', log, 'nginx-json', 'wait');
    expect(a.released).toEqual([{ input: joinInputs(mirror, log), source: 'nginx-mirror' }]);
    expect(a.released[0].input).toMatchObject({
      status: 401,
      ts: 1200,
      id: 'rid',
      body: mirror.body,
      headers: mirror.headers,
      partialHeaders: false,
    });
    expect(a.joiner.counts.joined).toBe(1);

    const b = setup();
    const done = b.joiner.log('rid', log, 'nginx-json', 'wait');
    b.joiner.mirror('rid', mirror);
    await done;
    expect(b.released).toHaveLength(1);
    expect(b.joiner.pending).toBe(0);
  });

  it('releases each half alone after its wait', async () => {
    const { joiner, released, at } = setup();
    joiner.mirror('m', mirror);
    const logged = joiner.log('l', log, 'nginx-json', 'wait');
    at(99);
    await joiner.expire();
    expect(released).toHaveLength(0);
    at(100);
    await joiner.expire();
    await logged;
    expect(released.map((r) => r.source)).toEqual(['nginx-json']);
    at(1000);
    await joiner.expire();
    expect(released.map((r) => r.source)).toEqual(['nginx-json', 'nginx-mirror']);
    expect(released[1].input.status).toBe(0);
    expect(joiner.counts).toMatchObject({ mirrorOnly: 1, logOnly: 1, joined: 0 });
  });

  it('never holds more than maxPending, releasing the oldest alone', async () => {
    const { joiner, released } = setup();
    for (let i = 0; i < 5; i++) joiner.mirror(`m${i}`, { ...mirror, path: `/${i}` });
    expect(joiner.pending).toBe(3);
    expect(released.map((r) => r.input.path)).toEqual(['/0', '/1']);
    expect(joiner.counts.overflow).toBe(2);
    await joiner.stop();
    expect(joiner.pending).toBe(0);
    expect(released).toHaveLength(5);
  });
});
