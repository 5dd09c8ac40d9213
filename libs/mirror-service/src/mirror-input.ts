/**
 * What edges and the SDK middleware send to the mirror agent's HTTP batch endpoint: request
 * metadata as the edge saw it, clear-text headers included. It never leaves the agent: the
 * normaliser turns it into a moat.requests.v1 record with credentials replaced by keyed hashes.
 */
import { Type, type Static } from '@sinclair/typebox';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { describeSchemaError } from '@moat/contracts';

export const MirrorInputSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** Event time: epoch milliseconds or an ISO-8601 timestamp; defaults to arrival time. */
    ts: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'date-time' })]),
    ),
    ip: Type.String({ anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] }),
    method: Type.String({ minLength: 1, maxLength: 16 }),
    /** Application: explicit, else taken from the Host header, else the agent's default. */
    app: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    host: Type.Optional(Type.String({ maxLength: 253 })),
    /** Path with optional query string, as in the request line. */
    path: Type.String({ minLength: 1, maxLength: 8192 }),
    status: Type.Integer({ minimum: 0, maximum: 999 }),
    requestBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    responseBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    latencyMs: Type.Optional(Type.Number({ minimum: 0 })),
    /**
     * Request headers in the order the client sent them; names are case-insensitive. With
     * X-Forwarded-For, Forwarded or X-Real-IP among them, `ip` is the edge's peer and the client
     * is found through the agent's trusted proxies (MOAT_MIRROR_TRUSTED_PROXIES).
     */
    headers: Type.Optional(
      Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 8192 }), {
        maxProperties: 128,
      }),
    ),
    ja3: Type.Optional(Type.String({ maxLength: 256 })),
    ja4: Type.Optional(Type.String({ maxLength: 256 })),
    /**
     * The request body (JSON or URL-encoded form), or its first 64 KiB, when the edge mirrors it:
     * the agent reads the username of a login from it and publishes only its keyed hash. The
     * body itself is never published.
     */
    body: Type.Optional(Type.String({ maxLength: 65_536 })),
    /** The edge sends only some of the request's headers (e.g. from an access log). */
    partialHeaders: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type MirrorInput = Static<typeof MirrorInputSchema>;

const ajv = new Ajv({ strict: true, allowUnionTypes: true });
addFormats(ajv, ['ipv4', 'ipv6', 'date-time']);
const validate = ajv.compile<MirrorInput>(MirrorInputSchema);

export function checkMirrorInput(
  value: unknown,
): { ok: true; value: MirrorInput } | { ok: false; reason: string } {
  if (validate(value)) return { ok: true, value };
  return { ok: false, reason: describeSchemaError(validate.errors) };
}
