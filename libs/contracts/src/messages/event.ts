/**
 * moat.events.v1: a request placed in its session, with the session's running features, so
 * most detectors need no state of their own. Key: client IP.
 */
import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id } from './common';
import { RequestRecordSchema } from './request';

export const SessionFeaturesSchema = Type.Object(
  {
    startedAt: EpochMs,
    requestCount: Type.Integer({ minimum: 1 }),
    durationMs: Type.Integer({ minimum: 0 }),
    uniqueRoutes: Type.Integer({ minimum: 1 }),
    /** Gap since the session's previous request; absent on the first. */
    lastIntervalMs: Type.Optional(Type.Integer({ minimum: 0 })),
    meanIntervalMs: Type.Optional(Type.Number({ minimum: 0 })),
    authAttempts: Type.Integer({ minimum: 0 }),
    authFailures: Type.Integer({ minimum: 0 }),
    bytesIn: Type.Integer({ minimum: 0 }),
    bytesOut: Type.Integer({ minimum: 0 }),
    errorResponses: Type.Integer({ minimum: 0 }),
    /**
     * Dispersion of the gaps between the session's requests (event time): standard deviation
     * and coefficient of variation (stddev / mean). Regular, machine-like pacing has a CV near
     * 0; people are well above 1. Present from the second gap on.
     */
    intervalStdDevMs: Type.Optional(Type.Number({ minimum: 0 })),
    intervalCv: Type.Optional(Type.Number({ minimum: 0 })),
    /** Shortest gap between two of the session's requests. */
    minIntervalMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Distinct client IPs the session came from (a credential session can move). */
    uniqueIps: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Distinct user names (keyed hashes) in the session's login attempts. */
    uniqueUsernames: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Responses by class: 404s (probing), other 4xx, and 5xx. */
    notFoundResponses: Type.Optional(Type.Integer({ minimum: 0 })),
    serverErrors: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Largest request and response of the session, bytes. */
    maxRequestBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    maxResponseBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const SessionEventSchema = Type.Object(
  {
    v: Type.Literal(1),
    request: RequestRecordSchema,
    sessionId: Id,
    /** How the session was keyed: a hashed credential, or the client fingerprint. */
    sessionKeyKind: Type.Union([Type.Literal('credential'), Type.Literal('fingerprint')]),
    route: Type.String({ minLength: 1, maxLength: 8192 }),
    auth: Type.Optional(
      Type.Object(
        { outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]) },
        { additionalProperties: false },
      ),
    ),
    session: SessionFeaturesSchema,
    /**
     * Earlier ids of this session, when this request changed its identity: a request older
     * than the session's first one (it arrived late, from another partition) moves the start
     * and so the id, and a request that closes the gap between two sessions of one key merges
     * them. Consumers that keep per-session state can carry it over from these ids.
     */
    supersedes: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 8 })),
  },
  {
    $id: 'https://moat.dev/schemas/event.v1.json',
    title: 'SessionEvent',
    additionalProperties: false,
  },
);
export type SessionEvent = Static<typeof SessionEventSchema>;
export type SessionFeatures = Static<typeof SessionFeaturesSchema>;

/**
 * moat.session-requests.v1: internal to the sessionizer. A request whose session is keyed by a
 * credential is re-keyed by that session key, so that every request of the session — whatever
 * client IP (and so partition of moat.requests.v1) it came from — is processed by the one
 * sessionizer instance that owns the session key's partition: one writer per session.
 * `source` is where the request was read, which makes re-delivered copies recognisable.
 */
export const SessionRequestSchema = Type.Object(
  {
    v: Type.Literal(1),
    sessionKey: Type.String({ minLength: 1, maxLength: 200 }),
    source: Type.Object(
      {
        partition: Type.Integer({ minimum: 0 }),
        offset: Type.String({ pattern: '^[0-9]+$', maxLength: 20 }),
      },
      { additionalProperties: false },
    ),
    request: RequestRecordSchema,
  },
  {
    $id: 'https://moat.dev/schemas/session-request.v1.json',
    title: 'SessionRequest',
    additionalProperties: false,
  },
);
export type SessionRequest = Static<typeof SessionRequestSchema>;
