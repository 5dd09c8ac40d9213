import { resolveDetectorConfig } from '../detector-config';
import { event, feed, T0 } from '../testing/events';
import {
  businessLogicScoreDetector,
  criticalEndpoint,
  type BusinessLogicScoreConfig,
} from './business-logic-score.detector';

const config = resolveDetectorConfig(businessLogicScoreDetector) as BusinessLogicScoreConfig;
const call = (i: number, path: string, method = 'POST', sessionId = `s${i}`) =>
  event({ ts: T0 + i * 2_000, path, route: path, method, sessionId });

describe('business-logic-score detector', () => {
  it('recognises critical endpoints by route and method', () => {
    expect(criticalEndpoint(call(0, '/api/checkout/coupon'), config)).toBe(
      'POST /api/checkout/coupon',
    );
    expect(criticalEndpoint(call(0, '/api/export/orders', 'GET'), config)).toBe(
      'GET /api/export/orders',
    );
    expect(criticalEndpoint(call(0, '/api/password-reset'), config)).toBe(
      'POST /api/password-reset',
    );
    expect(criticalEndpoint(call(0, '/api/account/orders', 'GET'), config)).toBeUndefined();
    expect(criticalEndpoint(call(0, '/api/payroll', 'POST'), config)).toBeUndefined();
    expect(criticalEndpoint(call(0, '/api/products', 'POST'), config)).toBeUndefined();
  });

  it('votes bot on coupon codes tried in a loop, even when every try is a new session', () => {
    const { bots } = feed(
      businessLogicScoreDetector,
      Array.from({ length: 12 }, (_, i) => call(i, '/api/checkout/coupon')),
      config,
    );
    expect(bots[0].vote.evidence).toEqual([
      expect.objectContaining({ metric: 'critical_endpoint_calls', value: 10, threshold: 10 }),
      expect.objectContaining({ metric: 'critical_share_of_session', value: 1 }),
    ]);
  });

  it('votes clean on a shopper who checks out once among much browsing', () => {
    const browse = Array.from({ length: 30 }, (_, i) => call(i, `/api/products/${i}`, 'GET', 's'));
    const { votes } = feed(
      businessLogicScoreDetector,
      [...browse, call(31, '/api/checkout', 'POST', 's')],
      config,
    );
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('starts a new window after windowMs of event time', () => {
    const slow = Array.from({ length: 12 }, (_, i) => ({
      ...call(i, '/api/login'),
      request: { ...call(i, '/api/login').request, ts: T0 + i * 600_000 },
    }));
    expect(feed(businessLogicScoreDetector, slow, config).bots).toEqual([]);
  });
});
