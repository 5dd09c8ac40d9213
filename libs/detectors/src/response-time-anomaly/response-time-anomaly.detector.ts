/**
 * Response time anomaly: clients whose requests keep driving latency beyond their endpoint's
 * learned tail — wildcard searches with huge pages, exports over years of data, queries that
 * pile up on the server. Per endpoint (method + route template) the detector learns the
 * distribution of response times (DDSketch quantile sketches in the baseline) and its threshold
 * is the 99th percentile × 3 within [1 s, 120 s] (prior 10 s until the endpoint has 50 learned
 * requests). Per client IP and hour of event time it counts requests over their endpoint's
 * threshold and votes `bot` at 5 of them when they are at least a fifth of the client's
 * requests: one slow export, or a request that met a 30-second upstream timeout, is not abuse.
 */
import type { Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import {
  endpointExcessConfig,
  evaluateEndpointExcess,
  type EndpointExcessSpec,
  type EndpointExcessState,
} from '../support/endpoint-excess';

export const ResponseTimeAnomalyConfig = endpointExcessConfig({
  prior: 10_000,
  quantile: 0.99,
  factor: 3,
  floor: 1_000,
  ceiling: 120_000,
  minExcessive: 5,
});
export type ResponseTimeAnomalyConfig = Static<typeof ResponseTimeAnomalyConfig>;

const LATENCY: EndpointExcessSpec = {
  metric: 'latency_ms',
  value: (event) => event.request.latencyMs,
  evidenceMetric: 'requests_beyond_latency_tail',
  format: (ms) => `${Math.round(ms).toLocaleString('en-US')} ms`,
};

export const responseTimeAnomalyDetector = defineDetector<
  EndpointExcessState,
  typeof ResponseTimeAnomalyConfig
>({
  id: 'response-time-anomaly',
  summary: "Clients whose requests keep driving latency beyond the endpoint's learned tail",
  configSchema: ResponseTimeAnomalyConfig,
  // max: the ceiling, so no learned value can stretch the tail past the most lenient threshold.
  baseline: {
    metrics: { latency_ms: { perEndpoint: true, max: 120_000 } },
    maxEndpoints: 256,
  },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => Math.max(config.windowMs * 2, 86_400_000),
  evaluate: (input) => evaluateEndpointExcess(LATENCY, input),
});
