/**
 * Low-frequency credential stuffing: a campaign spread so thin that each IP makes one or two
 * login attempts and nothing else, from thousands of IPs that share one client fingerprint. No
 * IP is busy; the cluster is. An attempt is *isolated* when it fails and its session has done
 * nothing but at most `maxAttemptsPerSession` logins. Per application, fingerprint and
 * event-time bucket the detector counts the IPs with an isolated attempt and all IPs of that
 * fingerprint; once at least `minIps` IPs made isolated attempts and they are at least
 * `minIsolatedShare` of the fingerprint's IPs (people who share a browser fingerprint browse
 * and mostly log in successfully), it votes `bot` for every IP of the cluster — one vote per IP,
 * each handed out once whichever event or replica got there first, including IPs that joined
 * the cluster before it was recognised.
 *
 * The vote's score grows with the cluster's size over the last `bucketMs` (a sliding count, so
 * a bucket boundary does not reset the certainty of a campaign already recognised).
 *
 * State (cross-session, per application × fingerprint × bucket): a sorted set of the isolated
 * IPs (≤ `maxClusterIps`, ~100 B each: ≤ 0.5 MB per cluster) with the claims hash beside it,
 * HyperLogLogs of all the fingerprint's IPs (≤ 12 KB per bucket) and of its isolated IPs per
 * 15-minute slice (≤ 12 KB each, 24 slices in a 6 h window); all expire two buckets after their
 * last update. No per-IP state.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import { clientFingerprint } from '../support/client-fingerprint';

/** Granularity of the sliding count of isolated IPs (HyperLogLog slices). */
const RECENT_SLICE_MS = 15 * 60_000;

export const LowFrequencyCredentialStuffingConfig = Type.Object(
  {
    bucketMs: Type.Integer({ minimum: 60_000, default: 6 * 3_600_000 }),
    /** IPs with an isolated failed attempt on one fingerprint in a bucket. */
    minIps: Type.Integer({ minimum: 2, default: 25 }),
    /** Their share among every IP that fingerprint showed in the bucket. */
    minIsolatedShare: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
    maxAttemptsPerSession: Type.Integer({ minimum: 1, default: 2 }),
    maxClusterIps: Type.Integer({ minimum: 10, maximum: 100_000, default: 5_000 }),
  },
  { additionalProperties: false },
);
export type LowFrequencyCredentialStuffingConfig = Static<
  typeof LowFrequencyCredentialStuffingConfig
>;

function isolatedAttempt(
  event: Parameters<typeof clientFingerprint>[0],
  config: LowFrequencyCredentialStuffingConfig,
): boolean {
  const s = event.session;
  return (
    event.auth?.outcome === 'failure' &&
    s.authAttempts <= config.maxAttemptsPerSession &&
    s.requestCount === s.authAttempts
  );
}

export const lowFrequencyCredentialStuffingDetector = defineDetector<
  undefined,
  typeof LowFrequencyCredentialStuffingConfig
>({
  id: 'low-frequency-credential-stuffing',
  summary:
    'Isolated failed logins (one or two per client, nothing else) sharing one fingerprint across many IPs',
  configSchema: LowFrequencyCredentialStuffingConfig,
  stateKey: () => null,
  stateTtlMs: (config) => config.bucketMs * 2,

  tallies(event, config) {
    const bucket = Math.floor(event.request.ts / config.bucketMs);
    const cluster = `${event.request.app}|${clientFingerprint(event)}`;
    const retentionMs = config.bucketMs * 2;
    const all = {
      kind: 'distinct' as const,
      name: 'fingerprint-ips',
      key: cluster,
      member: event.request.ip,
      bucketMs: config.bucketMs,
      windowMs: event.request.ts - bucket * config.bucketMs + 1,
      retentionMs,
    };
    if (!isolatedAttempt(event, config)) return [all];
    return [
      all,
      {
        kind: 'members',
        name: 'isolated-ips',
        key: `${cluster}|${bucket}`,
        member: event.request.ip,
        windowMs: config.bucketMs,
        retentionMs,
        maxMembers: config.maxClusterIps,
      },
      // The cluster's size over the last bucketMs, sliding (the bucket above restarts at each
      // boundary: it bounds state and claims, it should not reset the certainty).
      {
        kind: 'distinct',
        name: 'isolated-ips-recent',
        key: `${cluster}|isolated`,
        member: event.request.ip,
        bucketMs: RECENT_SLICE_MS,
        windowMs: config.bucketMs,
        retentionMs,
      },
    ];
  },

  evaluate({ event, config, tallies }) {
    const isolated = tallies?.['isolated-ips'];
    const all = tallies?.['fingerprint-ips'];
    if (!isolated || !all) return { state: undefined };
    // The HyperLogLog may undercount by a little; never below the exact isolated count.
    const fingerprintIps = Math.max(all.count, isolated.count);
    const share = isolated.count / fingerprintIps;
    const recentIsolated = Math.max(isolated.count, tallies['isolated-ips-recent']?.count ?? 0);
    if (isolated.count < config.minIps || share < config.minIsolatedShare)
      return { state: undefined };
    return {
      state: undefined,
      memberVotes: [
        {
          tally: 'isolated-ips',
          verdict: 'bot',
          // Certainty grows with the cluster's size over the last bucketMs. The share is a
          // gate, not a factor: past it, a popular browser's fingerprint (which a spoofing
          // campaign borrows) diluting the share with people says nothing about the cluster.
          score: Math.min(1, recentIsolated / (config.minIps * 4)),
          evidence: [
            {
              metric: 'isolated_login_ips',
              value: isolated.count,
              threshold: config.minIps,
              detail: `fingerprint ${clientFingerprint(event)}, bucket of ${config.bucketMs} ms`,
            },
            {
              metric: 'isolated_login_ips_last_bucket_ms',
              value: recentIsolated,
              threshold: config.minIps * 4,
              detail: 'sliding; the score is this ÷ threshold, capped at 1',
            },
            {
              metric: 'isolated_share_of_fingerprint_ips',
              value: Number(share.toFixed(4)),
              threshold: config.minIsolatedShare,
            },
          ],
        },
      ],
    };
  },
});
