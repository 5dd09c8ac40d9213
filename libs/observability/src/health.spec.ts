import { HealthRegistry } from './health';

describe('HealthRegistry', () => {
  it('is ready only when every check is', () => {
    const health = new HealthRegistry();
    let consumer: 'ok' | 'down' = 'down';
    health.register('consumer', () => ({ state: consumer, detail: 'joining group' }));
    health.register('store', () => ({ state: 'ok' }));
    expect(health.report().status).toBe('down');
    expect(health.report().checks.consumer).toEqual({ state: 'down', detail: 'joining group' });
    consumer = 'ok';
    expect(health.report().status).toBe('ok');
  });

  it('reports degraded without failing, and a throwing check as down', () => {
    const health = new HealthRegistry();
    health.register('kafka', () => ({ state: 'degraded' }));
    expect(health.report().status).toBe('degraded');
    health.register('broken', () => {
      throw new Error('boom');
    });
    expect(health.report()).toMatchObject({
      status: 'down',
      checks: { broken: { detail: 'boom' } },
    });
  });
});
