/**
 * Excessive request consumption: clients sending request payloads abnormally large for the
 * endpoint — multi-megabyte JSON bodies to a cart, uploads far beyond what the endpoint takes —
 * to exhaust bandwidth, parsers and storage. Per endpoint (method + route template) the detector
 * learns the distribution of request sizes (bytes as the edge counts them: headers and body) and
 * its threshold is the 99th percentile × 4 within [64 KiB, 256 MiB] (prior 1 MiB until the
 * endpoint has 50 learned requests). Per client IP and hour of event time it counts requests over
 * their endpoint's threshold and votes `bot` at 3 of them when they are at least a fifth of the
 * client's requests: one large upload is what people do.
 */
import type { Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import {
  endpointExcessConfig,
  evaluateEndpointExcess,
  type EndpointExcessSpec,
  type EndpointExcessState,
} from '../support/endpoint-excess';

const KIB = 1024;
const MIB = 1024 * KIB;

export const ExcessiveRequestConsumptionConfig = endpointExcessConfig({
  prior: MIB,
  quantile: 0.99,
  factor: 4,
  floor: 64 * KIB,
  ceiling: 256 * MIB,
  minExcessive: 3,
});
export type ExcessiveRequestConsumptionConfig = Static<typeof ExcessiveRequestConsumptionConfig>;

const REQUEST_BYTES: EndpointExcessSpec = {
  metric: 'request_bytes',
  value: (event) => event.request.requestBytes,
  evidenceMetric: 'oversized_requests',
  format: formatBytes,
};

export function formatBytes(bytes: number): string {
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= KIB) return `${(bytes / KIB).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}

export const excessiveRequestConsumptionDetector = defineDetector<
  EndpointExcessState,
  typeof ExcessiveRequestConsumptionConfig
>({
  id: 'excessive-request-consumption',
  summary: 'Clients sending request payloads abnormally large for the endpoint',
  configSchema: ExcessiveRequestConsumptionConfig,
  baseline: {
    metrics: { request_bytes: { perEndpoint: true, max: 256 * MIB } },
    maxEndpoints: 256,
  },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => Math.max(config.windowMs * 2, 86_400_000),
  evaluate: (input) => evaluateEndpointExcess(REQUEST_BYTES, input),
});
