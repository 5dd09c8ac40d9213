/**
 * The shared vocabulary of detection: bot types, the 18 detectors, and which detector may vote
 * for which bot type (DESIGN.md, "Bot types, detectors and confidence"). Weights live in scoring;
 * membership is a contract because detectors, scoring and the console must agree on it.
 */
export const BOT_TYPES = [
  'suspicious-api-activity',
  'account-takeover',
  'security-crawler',
  'scraping',
  'unrestricted-resource-consumption',
] as const;
export type BotType = (typeof BOT_TYPES)[number];

export const DETECTOR_IDS = [
  'bad-user-agent',
  'authentication-abuse',
  'request-uniqueness',
  'suspicious-behavior-score',
  'business-logic-score',
  'request-rate',
  'request-interval',
  'query-abuse',
  'outdated-browser',
  'wide-scope',
  'ip-rotation',
  'session-rotation',
  'persistent-ato',
  'credential-stuffing',
  'low-frequency-credential-stuffing',
  'response-time-anomaly',
  'excessive-request-consumption',
  'excessive-response-consumption',
] as const;
export type DetectorId = (typeof DETECTOR_IDS)[number];

export const BOT_TYPE_DETECTORS: Readonly<Record<BotType, readonly DetectorId[]>> = {
  'suspicious-api-activity': [
    'suspicious-behavior-score',
    'business-logic-score',
    'request-rate',
    'request-interval',
    'request-uniqueness',
    'query-abuse',
    'bad-user-agent',
    'outdated-browser',
  ],
  'account-takeover': [
    'authentication-abuse',
    'credential-stuffing',
    'low-frequency-credential-stuffing',
    'ip-rotation',
    'session-rotation',
    'persistent-ato',
    'request-interval',
    'bad-user-agent',
  ],
  'security-crawler': [
    'bad-user-agent',
    'wide-scope',
    'request-uniqueness',
    'request-rate',
    'query-abuse',
  ],
  scraping: [
    'request-uniqueness',
    'query-abuse',
    'request-rate',
    'request-interval',
    'wide-scope',
    'business-logic-score',
    'excessive-response-consumption',
    'outdated-browser',
  ],
  'unrestricted-resource-consumption': [
    'response-time-anomaly',
    'excessive-request-consumption',
    'excessive-response-consumption',
    'request-rate',
  ],
};

/** Bot types a detector's vote counts towards. */
export function botTypesOf(detector: DetectorId): BotType[] {
  return BOT_TYPES.filter((type) => BOT_TYPE_DETECTORS[type].includes(detector));
}

export const DECISION_ACTIONS = ['deny', 'graylist', 'allow'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];
