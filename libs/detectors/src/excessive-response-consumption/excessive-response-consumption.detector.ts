/**
 * Excessive response consumption: the total response volume of a session over its whole
 * lifetime against the learned distribution of session volumes. No single request of a slow-drip
 * scraper (one product page a minute, all day) or of a bulk downloader stands out; what they take
 * in total does. The volume is the sessionizer's running `bytesOut`, which follows a session
 * keyed by a credential across client IPs.
 *
 * Learns, per application, the running volume of clean sessions at checkpoints of their request
 * count (8, 16, 32, …: a session teaches at most log2(n) values) within the current threshold and
 * the client IP's daily quota. Threshold = twice the learned 99.9th percentile within
 * [2 MiB, 16 GiB]; prior 100 MiB until 500 session observations were learned. A vote names the endpoints
 * that delivered most of the volume.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Evidence } from '@moat/contracts';
import {
  describeThreshold,
  isLearningCheckpoint,
  refineThreshold,
  round,
  takeLearningQuota,
  type LearningQuota,
  type Observation,
} from '@moat/baselines';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';
import { LEARNING_EPOCH_MS } from '../support/learning';
import { withSlot, type Slot } from '../support/session-slots';
import { endpointOf } from '../support/endpoint-excess';
import { formatBytes } from '../excessive-request-consumption/excessive-request-consumption.detector';

const MIB = 1024 * 1024;

export const ExcessiveResponseConsumptionConfig = Type.Object(
  {
    prior: Type.Number({ exclusiveMinimum: 0, default: 100 * MIB }),
    quantile: Type.Number({ minimum: 0.5, maximum: 1, default: 0.999 }),
    factor: Type.Number({ minimum: 1, default: 2 }),
    floor: Type.Number({ exclusiveMinimum: 0, default: 2 * MIB }),
    ceiling: Type.Number({ exclusiveMinimum: 0, default: 16 * 1024 * MIB }),
    minBaselineSessions: Type.Integer({ minimum: 1, default: 500 }),
    /** Requests a session needs before it is judged clean, and its first learning checkpoint. */
    minRequests: Type.Integer({ minimum: 1, default: 8 }),
    /** Sessions' observations one client IP may teach per day. */
    learnPerIp: Type.Integer({ minimum: 0, default: 8 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
    /** Idle time after which a session's state is dropped (past the sessionizer's timeout). */
    sessionTtlMs: Type.Integer({ minimum: 60_000, default: 3_600_000 }),
  },
  { additionalProperties: false },
);
export type ExcessiveResponseConsumptionConfig = Static<typeof ExcessiveResponseConsumptionConfig>;

interface SessionVolume extends VoteMemory {
  /** Bytes and requests per endpoint seen from this IP (the largest MAX_ENDPOINTS). */
  endpoints: Record<string, [bytes: number, requests: number]>;
}

export interface ExcessiveResponseConsumptionState {
  sessions: Slot<SessionVolume>[];
  quota?: LearningQuota;
}

const MAX_ENDPOINTS = 12;

function addEndpoint(
  endpoints: SessionVolume['endpoints'],
  endpoint: string,
  bytes: number,
): SessionVolume['endpoints'] {
  const next = { ...endpoints };
  const [b, n] = next[endpoint] ?? [0, 0];
  next[endpoint] = [b + bytes, n + 1];
  const keys = Object.keys(next);
  if (keys.length > MAX_ENDPOINTS) {
    // Keep the heaviest: the ones a vote will name.
    const lightest = keys.reduce((a, k) => (next[k][0] < next[a][0] ? k : a));
    delete next[lightest];
  }
  return next;
}

export const excessiveResponseConsumptionDetector = defineDetector<
  ExcessiveResponseConsumptionState,
  typeof ExcessiveResponseConsumptionConfig
>({
  id: 'excessive-response-consumption',
  summary: 'Total response volume of a session over its lifetime against the learned distribution',
  configSchema: ExcessiveResponseConsumptionConfig,
  baseline: { metrics: { session_bytes_out: { max: 16 * 1024 * MIB } } },
  stateKey: (event) => event.request.ip,
  stateTtlMs: (config) => Math.max(config.sessionTtlMs * 2, 86_400_000),

  evaluate({ event, state, baseline, config }) {
    const ts = event.request.ts;
    const volume = event.session.bytesOut;
    const requests = event.session.requestCount;
    const live = (state?.sessions ?? []).filter((s) => ts - s.lastTs < config.sessionTtlMs);
    const { slots, slot } = withSlot<SessionVolume>(
      live,
      event.sessionId,
      ts,
      () => ({ endpoints: {} }),
      (data) => ({
        ...data,
        endpoints: addEndpoint(data.endpoints, endpointOf(event), event.request.responseBytes),
      }),
    );
    const threshold = refineThreshold(baseline, {
      metric: 'session_bytes_out',
      prior: config.prior,
      quantile: config.quantile,
      factor: config.factor,
      min: config.floor,
      max: config.ceiling,
      minObservations: config.minBaselineSessions,
    });
    const excessive = volume > threshold.value;
    const verdict = excessive ? 'bot' : requests >= config.minRequests ? 'clean' : undefined;
    const cast = castVote(slot.data, verdict, ts, config.repeatVoteMs, () => ({
      score: Math.min(1, 0.5 + 0.5 * Math.log2(volume / threshold.value)),
      evidence: evidence(volume, requests, threshold, slot.data.endpoints),
    }));
    slot.data = { endpoints: slot.data.endpoints, ...cast.memory };

    let quota = state?.quota;
    let observations: Observation[] | undefined;
    if (
      !excessive &&
      slot.data.lastVerdict !== 'bot' &&
      isLearningCheckpoint(requests, config.minRequests)
    ) {
      const taken = takeLearningQuota(quota, ts, {
        epochMs: LEARNING_EPOCH_MS,
        perEpoch: config.learnPerIp,
      });
      quota = taken.quota;
      if (taken.granted) observations = [{ metric: 'session_bytes_out', value: volume }];
    }
    return {
      state: { sessions: slots, ...(quota && { quota }) },
      vote: cast.vote,
      observations,
    };
  },
});

function evidence(
  volume: number,
  requests: number,
  threshold: ReturnType<typeof refineThreshold>,
  endpoints: SessionVolume['endpoints'],
): Evidence[] {
  const out: Evidence[] = [
    {
      metric: 'session_response_bytes',
      value: volume,
      threshold: Math.round(threshold.value),
      ...(threshold.baseline !== undefined && { baseline: threshold.baseline }),
      detail: `${formatBytes(volume)} over ${requests} requests against ${formatBytes(threshold.value)} (${describeThreshold(threshold)})`,
    },
  ];
  const heaviest = Object.entries(endpoints)
    .sort((a, b) => b[1][0] - a[1][0])
    .slice(0, 3);
  for (const [endpoint, [bytes, n]] of heaviest) {
    out.push({
      metric: 'session_response_bytes_by_endpoint',
      value: bytes,
      detail:
        `${endpoint}: ${formatBytes(bytes)} in ${n} requests (${round((100 * bytes) / Math.max(1, volume), 1)} % of the session)`.slice(
          0,
          1024,
        ),
    });
  }
  return out;
}
