/**
 * Low-frequency credential stuffing: a campaign spread so thin that each IP makes one or two
 * login attempts and nothing else, from thousands of IPs that share one client fingerprint. No
 * IP is busy; the cluster is. An attempt is *isolated* when it fails and its session has done
 * nothing but at most `maxAttemptsPerSession` logins. Per application and fingerprint the
 * detector counts, over the last `bucketMs` of event time (sliding), the IPs with an isolated
 * attempt and all IPs of that fingerprint; once at least `minIps` IPs made isolated attempts and
 * they are at least `minIsolatedShare` of the fingerprint's IPs (people who share a browser
 * fingerprint browse and mostly log in successfully), it votes `bot` for every IP of the
 * cluster in the current event-time bucket — one vote per IP, each handed out once whichever
 * event or replica got there first, including IPs that joined the cluster before it was
 * recognised.
 *
 * The counts slide, so a campaign already recognised stays recognised across a bucket boundary
 * (its next IP is voted for as it arrives); the bucket only bounds the members kept and the
 * claims. The vote's score grows with the cluster's size.
 *
 * State (cross-session, per application × fingerprint): per bucket a sorted set of the isolated
 * IPs (≤ `maxClusterIps`, ~100 B each: ≤ 0.5 MB per cluster) with the claims hash beside it;
 * HyperLogLogs of the isolated IPs per 24th of a bucket and of all the fingerprint's IPs per
 * 6th (15 min and 1 h by default; sparse: a few hundred bytes for a fingerprint of a few IPs,
 * ≤ 12 KB each); a slice expires a bucket and a slice after its last write, the sorted set two buckets after its last update. No per-IP
 * state. Only isolated attempts read the counts; every other event only adds its IP.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import { clientFingerprint } from '../support/client-fingerprint';

/**
 * The sliding counts' granularity, in buckets (HyperLogLog slices): isolated IPs per 24th of a
 * bucket (15 min of the default 6 h), all the fingerprint's IPs per 6th (1 h) — coarser, as every
 * event of every client adds to it (its window then spans up to one slice more: a slightly
 * larger denominator, so a slightly stricter share).
 */
const ISOLATED_SLICES = 24;
const FINGERPRINT_SLICES = 6;

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
    const isolated = isolatedAttempt(event, config);
    const fingerprintSlice = Math.max(1, Math.floor(config.bucketMs / FINGERPRINT_SLICES));
    const isolatedSlice = Math.max(1, Math.floor(config.bucketMs / ISOLATED_SLICES));
    const all = {
      kind: 'distinct' as const,
      name: 'fingerprint-ips',
      key: cluster,
      member: event.request.ip,
      bucketMs: fingerprintSlice,
      windowMs: config.bucketMs,
      retentionMs: config.bucketMs + fingerprintSlice,
      read: isolated,
    };
    if (!isolated) return [all];
    return [
      all,
      {
        kind: 'members',
        name: 'isolated-ips',
        key: `${cluster}|${bucket}`,
        member: event.request.ip,
        windowMs: config.bucketMs,
        retentionMs: config.bucketMs * 2,
        maxMembers: config.maxClusterIps,
      },
      {
        kind: 'distinct',
        name: 'isolated-ips-recent',
        key: `${cluster}|isolated`,
        member: event.request.ip,
        bucketMs: isolatedSlice,
        windowMs: config.bucketMs,
        retentionMs: config.bucketMs + isolatedSlice,
      },
    ];
  },

  evaluate({ event, config, tallies }) {
    const isolated = tallies?.['isolated-ips'];
    const all = tallies?.['fingerprint-ips'];
    if (!isolated || !all) return { state: undefined };
    // The HyperLogLogs may undercount by a little; never below the bucket's exact count.
    const recentIsolated = Math.max(isolated.count, tallies['isolated-ips-recent']?.count ?? 0);
    const fingerprintIps = Math.max(all.count, recentIsolated);
    const share = recentIsolated / fingerprintIps;
    if (recentIsolated < config.minIps || share < config.minIsolatedShare)
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
              value: recentIsolated,
              threshold: config.minIps,
              detail: `fingerprint ${clientFingerprint(event)}, last ${config.bucketMs} ms (sliding); the score is this ÷ ${config.minIps * 4}, capped at 1`,
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
