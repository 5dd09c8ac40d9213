/**
 * Every detector module by id. The detector service hosts whichever MOAT_DETECTOR names;
 * adding a detector means adding its module here, nothing in the kit or the service.
 */
import type { DetectorId } from '@moat/contracts';
import type { AnyDetector } from './detector';
import { badUserAgentDetector } from './bad-user-agent/bad-user-agent.detector';
import { businessLogicScoreDetector } from './business-logic-score/business-logic-score.detector';
import { outdatedBrowserDetector } from './outdated-browser/outdated-browser.detector';
import { queryAbuseDetector } from './query-abuse/query-abuse.detector';
import { requestIntervalDetector } from './request-interval/request-interval.detector';
import { requestRateDetector } from './request-rate/request-rate.detector';
import { requestUniquenessDetector } from './request-uniqueness/request-uniqueness.detector';
import { wideScopeDetector } from './wide-scope/wide-scope.detector';
import { authenticationAbuseDetector } from './authentication-abuse/authentication-abuse.detector';
import { credentialStuffingDetector } from './credential-stuffing/credential-stuffing.detector';
import { lowFrequencyCredentialStuffingDetector } from './low-frequency-credential-stuffing/low-frequency-credential-stuffing.detector';
import { ipRotationDetector } from './ip-rotation/ip-rotation.detector';
import { sessionRotationDetector } from './session-rotation/session-rotation.detector';
import { persistentAtoDetector } from './persistent-ato/persistent-ato.detector';
import { responseTimeAnomalyDetector } from './response-time-anomaly/response-time-anomaly.detector';
import { excessiveRequestConsumptionDetector } from './excessive-request-consumption/excessive-request-consumption.detector';
import { excessiveResponseConsumptionDetector } from './excessive-response-consumption/excessive-response-consumption.detector';
import { suspiciousBehaviorScoreDetector } from './suspicious-behavior-score/suspicious-behavior-score.detector';

export const DETECTORS: Partial<Record<DetectorId, AnyDetector>> = {
  'bad-user-agent': badUserAgentDetector,
  'business-logic-score': businessLogicScoreDetector,
  'outdated-browser': outdatedBrowserDetector,
  'query-abuse': queryAbuseDetector,
  'request-interval': requestIntervalDetector,
  'request-rate': requestRateDetector,
  'request-uniqueness': requestUniquenessDetector,
  'wide-scope': wideScopeDetector,
  'authentication-abuse': authenticationAbuseDetector,
  'credential-stuffing': credentialStuffingDetector,
  'low-frequency-credential-stuffing': lowFrequencyCredentialStuffingDetector,
  'ip-rotation': ipRotationDetector,
  'session-rotation': sessionRotationDetector,
  'persistent-ato': persistentAtoDetector,
  'response-time-anomaly': responseTimeAnomalyDetector,
  'excessive-request-consumption': excessiveRequestConsumptionDetector,
  'excessive-response-consumption': excessiveResponseConsumptionDetector,
  'suspicious-behavior-score': suspiciousBehaviorScoreDetector,
};

export function availableDetectors(): DetectorId[] {
  return Object.keys(DETECTORS) as DetectorId[];
}

export function getDetector(id: string): AnyDetector {
  const detector = Object.hasOwn(DETECTORS, id) ? DETECTORS[id as DetectorId] : undefined;
  if (!detector) {
    throw new Error(`Unknown detector "${id}"; available: ${availableDetectors().join(', ')}.`);
  }
  return detector;
}
