/**
 * The calibrated detector weights per bot type: the defaults in code. Written by
 * `npm run calibrate` (tools/eval/calibrate-weights.ts) from the simulator:
 * seed 1001, 3000 people, 3 campaigns per scenario and variant, 391273 requests, 145222 votes.
 * docs/SCORING.md shows the same table with what each weight was measured from. Do not edit by
 * hand: rerun the calibration. MOAT_WEIGHTS_FILE (or replay's --weights) overrides it.
 */
import type { Weights } from './confidence';

export const DEFAULT_WEIGHTS: Weights = {
  'suspicious-api-activity': {
    'suspicious-behavior-score': 0.15,
    'business-logic-score': 1,
    'request-rate': 0.05,
    'request-interval': 0.4,
    'request-uniqueness': 1,
    'query-abuse': 1,
    'bad-user-agent': 0.05,
    'outdated-browser': 0.05,
  },
  'account-takeover': {
    'authentication-abuse': 0.05,
    'credential-stuffing': 0.65,
    'low-frequency-credential-stuffing': 1,
    'ip-rotation': 1,
    'session-rotation': 0.5,
    'persistent-ato': 0.05,
    'request-interval': 0.6,
    'bad-user-agent': 0.05,
  },
  'security-crawler': {
    'bad-user-agent': 0.05,
    'wide-scope': 1,
    'request-uniqueness': 0.05,
    'request-rate': 0.2,
    'query-abuse': 0.05,
  },
  scraping: {
    'request-uniqueness': 0.05,
    'query-abuse': 0.95,
    'request-rate': 0.35,
    'request-interval': 0.45,
    'wide-scope': 0.5,
    'business-logic-score': 0.05,
    'excessive-response-consumption': 0.05,
    'outdated-browser': 0.2,
  },
  'unrestricted-resource-consumption': {
    'response-time-anomaly': 0.5,
    'excessive-request-consumption': 0.25,
    'excessive-response-consumption': 0.75,
    'request-rate': 0.25,
  },
};
