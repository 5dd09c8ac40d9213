/**
 * Persistent account takeover: slow attempts against an account over days — a few failed logins
 * every few hours, far below any rate limit and beyond any session timeout. Per application and
 * account (user-name hash) the detector keeps the failed logins of the last `lookbackMs` of
 * event time in the shared store, so the evidence outlives sessions, restarts and rebalances;
 * once an account has at least `minFailures` failures in at least `minBursts` separate bursts
 * (runs of attempts separated by `burstGapMs` of silence) spread over at least `minSpanMs`, each
 * further failed attempt on it votes `bot` for its IP. A person who forgets a password fails in
 * one burst, then resets it.
 *
 * The account's owner is left out: the IPs that logged into the account successfully in the
 * lookback are its owner's (up to `maxOwnerIps` of them, the newest); their failures are typos,
 * neither counted into the account's bursts nor voted for. Without this, the owner of an
 * account under attack who mistypes the password once is voted a bot.
 *
 * State: cross-session, per account a sorted set of ≤ `maxAttempts` failed attempts (IP and
 * event id) with their event times (~100 B each: ≤ 13 KB per attacked account), expiring
 * `lookbackMs` after the last failure, and a sorted set of ≤ `maxOwnerIps` IPs that logged in
 * (≤ 1.6 KB per account people log into); per client IP only the vote rhythm (under 100 B).
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineDetector } from '../detector';
import { castVote, type VoteMemory } from '../support/vote-policy';

const HOUR = 3_600_000;

export const PersistentAtoConfig = Type.Object(
  {
    lookbackMs: Type.Integer({ minimum: HOUR, default: 7 * 24 * HOUR }),
    minFailures: Type.Integer({ minimum: 2, default: 6 }),
    minBursts: Type.Integer({ minimum: 2, default: 3 }),
    burstGapMs: Type.Integer({ minimum: 60_000, default: HOUR }),
    minSpanMs: Type.Integer({ minimum: 0, default: 6 * HOUR }),
    maxAttempts: Type.Integer({ minimum: 10, maximum: 10_000, default: 128 }),
    /** IPs kept per account that logged into it successfully (its owner's). */
    maxOwnerIps: Type.Integer({ minimum: 1, maximum: 1_000, default: 16 }),
    repeatVoteMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false },
);
export type PersistentAtoConfig = Static<typeof PersistentAtoConfig>;

export type PersistentAtoState = VoteMemory;

/**
 * Whether a failed attempt (`<ip> <event id>`) came from one of the owner's IPs. Attempts written
 * before owners were kept hold the event id only: they count.
 */
function fromOwner(member: string, owners: ReadonlySet<string>): boolean {
  const space = member.indexOf(' ');
  return space >= 0 && owners.has(member.slice(0, space));
}

export const persistentAtoDetector = defineDetector<PersistentAtoState, typeof PersistentAtoConfig>(
  {
    id: 'persistent-ato',
    summary: 'Slow failed logins against one account in separate bursts over hours and days',
    configSchema: PersistentAtoConfig,
    stateKey: (event) => event.request.ip,
    stateTtlMs: (config) => config.lookbackMs,

    tallies(event, config) {
      const { app, usernameHash, id, ip } = event.request;
      if (!event.auth || !usernameHash) return [];
      const account = `${app}|${usernameHash}`;
      const owners = {
        kind: 'members' as const,
        name: 'account-owner-ips',
        key: account,
        windowMs: config.lookbackMs,
        retentionMs: config.lookbackMs,
        maxMembers: config.maxOwnerIps,
      };
      if (event.auth.outcome === 'success') return [{ ...owners, member: ip }];
      return [
        {
          kind: 'members',
          name: 'account-failures',
          key: account,
          member: `${ip} ${id}`,
          windowMs: config.lookbackMs,
          retentionMs: config.lookbackMs,
          maxMembers: config.maxAttempts,
          list: config.maxAttempts,
        },
        { ...owners, list: config.maxOwnerIps },
      ];
    },

    evaluate({ event, state, config, tallies }) {
      const failures = tallies?.['account-failures'];
      if (!failures) return { state };
      const owners = new Set(tallies['account-owner-ips']?.members.map((m) => m.member));
      if (owners.has(event.request.ip)) return { state };
      const ts = event.request.ts;
      // Only what happened up to this attempt (a late event is judged on its own past), and
      // not the owner's typos.
      const times = failures.members
        .filter((m) => m.score <= ts && !fromOwner(m.member, owners))
        .map((m) => m.score);
      let bursts = times.length > 0 ? 1 : 0;
      for (let i = 1; i < times.length; i++)
        if (times[i] - times[i - 1] >= config.burstGapMs) bursts++;
      const span = times.length > 0 ? times[times.length - 1] - times[0] : 0;
      const persistent =
        times.length >= config.minFailures &&
        bursts >= config.minBursts &&
        span >= config.minSpanMs;
      if (!persistent) return { state };
      const { vote, memory } = castVote(state ?? {}, 'bot', ts, config.repeatVoteMs, () => ({
        score: Math.min(1, bursts / (config.minBursts * 2) + 0.5),
        evidence: [
          {
            metric: 'account_failed_logins',
            value: times.length,
            threshold: config.minFailures,
            detail: `last ${config.lookbackMs} ms`,
          },
          {
            metric: 'attempt_bursts',
            value: bursts,
            threshold: config.minBursts,
            detail: `separated by ≥ ${config.burstGapMs} ms`,
          },
          { metric: 'attempt_span_ms', value: span, threshold: config.minSpanMs },
        ],
      }));
      return { state: memory, ...(vote ? { vote } : {}) };
    },
  },
);
