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
  },
  {
    $id: 'https://moat.dev/schemas/request.v1.json',
    title: 'RequestRecord',
    additionalProperties: false,
  },
);
export type RequestRecord = Static<typeof RequestRecordSchema>;
export type Credential = Static<typeof CredentialSchema>;
