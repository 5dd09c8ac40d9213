/**
 * IP rotation: one account or one credential session used for logins from a pool of IPs in a
 * short time — a rotating proxy behind one cookie jar, or one account attacked from many
 * addresses. People move between a few networks (Wi-Fi, cellular, office) in an hour and log in
 * once; they do not log in from ten.
 *
 * Two pools, each per application:
 * - an account (user-name hash): the IPs of its *failed* logins (a shared account that people
 *   log into successfully is not a pool), never voting for the IPs that logged into it
 *   successfully in the last `ownerLookbackMs` (≤ `maxOwnerIps`, the newest): its owner, who
 *   mistypes too while the account is under attack;
 * - a credential session (cookie, bearer token, API key, JWT — the sessionizer keeps its id
 *   across IPs): the IPs of its login attempts. Only logins: a person's phone browsing on one
 *   token hops between carrier addresses all day, which says nothing about account takeover.
 * Once a pool held `minIps` IPs over the last `bucketMs` (a sliding count) the detector votes
 * `bot` for every IP of the pool in the current event-time bucket, one vote per IP, each handed
 * out once whichever event or replica got there first. The count slides so that a rotation
 * already recognised stays recognised across a bucket boundary; the bucket bounds the members
 * kept and the claims.
 * (A fingerprint's pool is left to low-frequency credential stuffing: a popular browser's
 * fingerprint legitimately spans thousands of IPs.)
 *
 * State (cross-session): per pool and bucket a sorted set of ≤ `maxPoolIps` IPs (~100 B each)
 * and its claims hash, expiring two buckets after the last update; per pool HyperLogLogs of its
 * IPs per twelfth of a bucket (sparse, well under 1 KB for a pool of tens of IPs) for the
 * sliding count; per account logged into, a sorted set of ≤ `maxOwnerIps` IPs (≤ 1 KB),
 * expiring `ownerLookbackMs` after the last success. No per-IP state.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { TallyRequest } from '../cross-session';
import { defineDetector } from '../detector';

export const IpRotationConfig = Type.Object(
  {
    bucketMs: Type.Integer({ minimum: 60_000, default: 3_600_000 }),
    /** IPs in one pool (per bucket) that make it a rotation. */
    minIps: Type.Integer({ minimum: 2, default: 10 }),
    maxPoolIps: Type.Integer({ minimum: 10, maximum: 100_000, default: 2_000 }),
    /** How long an IP that logged into an account counts as its owner's. */
    ownerLookbackMs: Type.Integer({ minimum: 3_600_000, default: 7 * 86_400_000 }),
    maxOwnerIps: Type.Integer({ minimum: 1, maximum: 1_000, default: 8 }),
  },
  { additionalProperties: false },
);
export type IpRotationConfig = Static<typeof IpRotationConfig>;

const POOLS = ['account-ips', 'session-ips'] as const;
/** The sliding count's granularity, in buckets. */
const SLICES_PER_BUCKET = 12;

export const ipRotationDetector = defineDetector<undefined, typeof IpRotationConfig>({
  id: 'ip-rotation',
  summary: 'One account or credential session logging in from a pool of IPs in a short time',
  configSchema: IpRotationConfig,
  stateKey: () => null,
  stateTtlMs: (config) => config.bucketMs * 2,

  tallies(event, config) {
    const { app, ts, ip, usernameHash } = event.request;
    const bucket = Math.floor(ts / config.bucketMs);
    const pool = (name: string, subject: string): TallyRequest[] => [
      {
        kind: 'members',
        name,
        key: `${app}|${subject}|${bucket}`,
        member: ip,
        windowMs: config.bucketMs,
        retentionMs: config.bucketMs * 2,
        maxMembers: config.maxPoolIps,
      },
      {
        kind: 'distinct',
        name: `${name}-recent`,
        key: `${app}|${subject}`,
        member: ip,
        bucketMs: Math.max(1, Math.floor(config.bucketMs / SLICES_PER_BUCKET)),
        windowMs: config.bucketMs,
        retentionMs: config.bucketMs * 2,
      },
    ];
    if (!event.auth) return [];
    const owners: TallyRequest = {
      kind: 'members',
      name: 'account-owner-ips',
      key: `${app}|${usernameHash}`,
      windowMs: config.ownerLookbackMs,
      retentionMs: config.ownerLookbackMs,
      maxMembers: config.maxOwnerIps,
    };
    const pools: TallyRequest[] = [];
    if (event.auth.outcome === 'success' && usernameHash) pools.push({ ...owners, member: ip });
    if (event.auth.outcome === 'failure' && usernameHash)
      pools.push(...pool('account-ips', usernameHash), { ...owners, list: config.maxOwnerIps });
    if (event.sessionKeyKind === 'credential') pools.push(...pool('session-ips', event.sessionId));
    return pools;
  },

  evaluate({ config, tallies }) {
    const owners = tallies?.['account-owner-ips']?.members.map((m) => m.member) ?? [];
    const memberVotes = POOLS.flatMap((name) => {
      const pool = tallies?.[name];
      if (!pool) return [];
      // The HyperLogLog may undercount by a little; never below the bucket's exact count.
      const ips = Math.max(pool.count, tallies[`${name}-recent`]?.count ?? 0);
      if (ips < config.minIps) return [];
      return [
        {
          tally: name,
          verdict: 'bot' as const,
          ...(name === 'account-ips' && owners.length > 0 ? { exclude: owners } : {}),
          score: Math.min(1, ips / (config.minIps * 3)),
          evidence: [
            {
              metric: name === 'account-ips' ? 'account_failed_login_ips' : 'session_login_ips',
              value: ips,
              threshold: config.minIps,
              detail: `last ${config.bucketMs} ms, sliding`,
            },
          ],
        },
      ];
    });
    return { state: undefined, ...(memberVotes.length > 0 ? { memberVotes } : {}) };
  },
});
