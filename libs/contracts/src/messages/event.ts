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
  },
  {
    $id: 'https://moat.dev/schemas/event.v1.json',
    title: 'SessionEvent',
    additionalProperties: false,
  },
);
export type SessionEvent = Static<typeof SessionEventSchema>;
export type SessionFeatures = Static<typeof SessionFeaturesSchema>;
