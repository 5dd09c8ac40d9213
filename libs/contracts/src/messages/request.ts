/** moat.requests.v1: one mirrored request, normalised by the mirror agent. Key: client IP. */
import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id, Ip, KeyedHash, ShortText } from './common';

export const CredentialSchema = Type.Object(
  {
    kind: Type.Union([
      Type.Literal('cookie'),
      Type.Literal('bearer'),
      Type.Literal('api-key'),
      Type.Literal('basic'),
    ]),
    name: Type.String({ maxLength: 256 }),
    hash: KeyedHash,
  },
  { additionalProperties: false },
);

export const RequestRecordSchema = Type.Object(
  {
    v: Type.Literal(1),
    id: Id,
    ts: EpochMs,
    app: Type.String({ minLength: 1, maxLength: 253 }),
    ip: Ip,
    method: Type.String({ pattern: '^[A-Z]{1,16}$' }),
    path: Type.String({ minLength: 1, maxLength: 8192 }),
    query: Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 2048 })),
    status: Type.Integer({ minimum: 0, maximum: 999 }),
    requestBytes: Type.Integer({ minimum: 0 }),
    responseBytes: Type.Integer({ minimum: 0 }),
    latencyMs: Type.Number({ minimum: 0 }),
    userAgent: ShortText,
    acceptLanguage: Type.Optional(Type.String({ maxLength: 256 })),
    /** Names of the request headers present, lower-case, in the order the client sent them. */
    headerNames: Type.Array(Type.String({ maxLength: 128 }), { maxItems: 128 }),
    ja3: Type.Optional(Type.String({ maxLength: 256 })),
    ja4: Type.Optional(Type.String({ maxLength: 256 })),
    credentials: Type.Array(CredentialSchema, { maxItems: 32 }),
    /** Keyed hash of the username when the request body carried one (login forms). */
    usernameHash: Type.Optional(KeyedHash),
    /**
     * Short hash of `headerNames` (names and order), so that clients sending the same headers
     * in the same order share a value whatever their header values are.
     */
    headerFingerprint: Type.Optional(Type.String({ pattern: '^[0-9a-f]{16}$' })),
    /**
     * True when the source knew only some of the request's headers (an access log records the
     * few its format names): `headerNames` then lists those present, and a missing header or
     * the order says nothing about the client.
     */
    partialHeaders: Type.Optional(Type.Literal(true)),
    /** Where the mirror agent took the request from (operators' diagnostics). */
    source: Type.Optional(
      Type.Union([
        Type.Literal('http'),
        Type.Literal('nginx-json'),
        Type.Literal('nginx-text'),
        Type.Literal('nginx-mirror'),
        Type.Literal('envoy'),
      ]),
    ),
  },
  {
    $id: 'https://moat.dev/schemas/request.v1.json',
    title: 'RequestRecord',
    additionalProperties: false,
  },
);
export type RequestRecord = Static<typeof RequestRecordSchema>;
export type Credential = Static<typeof CredentialSchema>;
