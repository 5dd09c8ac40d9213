import { MirrorReporter, type MirroredRequest } from './reporter';

const request = (i: number): MirroredRequest => ({
  ts: 1_764_000_000_000 + i,
  ip: '192.0.2.1',
  method: 'GET',
  path: `/${i}`,
  status: 200,
});

/** A fetch that answers with the statuses given, in turn, recording the batches. */
function fakeFetch(statuses: number[]) {
  const batches: MirroredRequest[][] = [];
  const impl = (async (_url: string, init: RequestInit) => {
    const batch = JSON.parse(init.body as string) as MirroredRequest[];
    batches.push(batch);
    const status = statuses.length > 1 ? statuses.shift()! : statuses[0];
    if (status === 0) throw new Error('ECONNREFUSED');
    return new Response(
      JSON.stringify({ accepted: status === 202 ? batch.length : 0, rejected: [] }),
      { status },
    );
  }) as unknown as typeof fetch;
  return { impl, batches };
}

describe('MirrorReporter', () => {
  it('sends full batches at once and the rest on flush', async () => {
    const { impl, batches } = fakeFetch([202]);
    const reporter = new MirrorReporter({
      endpoint: 'http://agent/v1/requests',
      maxBatch: 2,
      fetch: impl,
    });
    for (let i = 0; i < 5; i++) reporter.report(request(i));
    await reporter.flush();
    await reporter.close();
    expect(batches.map((b) => b.map((r) => r.path))).toEqual([['/0', '/1'], ['/2', '/3'], ['/4']]);
    expect(reporter.stats).toMatchObject({ reported: 5, accepted: 5, dropped: 0 });
  });

  it('keeps a refused batch and retries it after a backoff', async () => {
    const { impl, batches } = fakeFetch([503, 0, 202]);
    const reporter = new MirrorReporter({
      endpoint: 'http://agent/v1/requests',
      fetch: impl,
      onError: () => undefined,
    });
    reporter.report(request(1));
    await reporter.flush();
    expect(reporter.buffered).toBe(1);
    await reporter.flush(); // within the backoff: nothing sent
    expect(batches).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 600));
    await reporter.flush();
    await new Promise((r) => setTimeout(r, 1100));
    await reporter.flush();
    expect(batches).toHaveLength(3);
    expect(reporter.buffered).toBe(0);
    expect(reporter.stats).toMatchObject({ accepted: 1, retries: 2 });
    await reporter.close();
  });

  it('drops the oldest when the agent is away too long, and counts it', async () => {
    const { impl } = fakeFetch([0]);
    const reporter = new MirrorReporter({
      endpoint: 'http://agent/v1/requests',
      maxBatch: 2,
      maxBuffered: 3,
      fetch: impl,
      onError: () => undefined,
    });
    for (let i = 0; i < 10; i++) reporter.report(request(i));
    expect(reporter.buffered).toBe(3);
    expect(reporter.stats.dropped).toBe(7);
    await reporter.close();
  });

  it('does not retry a batch the agent refused as invalid', async () => {
    const { impl, batches } = fakeFetch([400]);
    const reporter = new MirrorReporter({
      endpoint: 'http://agent/v1/requests',
      fetch: impl,
      onError: () => undefined,
    });
    reporter.report(request(1));
    await reporter.close();
    expect(batches).toHaveLength(1);
    expect(reporter.stats.rejected).toBe(1);
    expect(() => new MirrorReporter({ endpoint: 'agent:8080' })).toThrow(/not an http\(s\) URL/);
  });
});
