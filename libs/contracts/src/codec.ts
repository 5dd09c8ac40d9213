/**
 * One definition per message (TypeBox) yields the TypeScript type, the JSON Schema and a
 * compiled Ajv validator. Ajv rather than TypeBox's own compiler: it is the reference JSON Schema
 * implementation, so the schemas we publish for non-TypeScript consumers are validated by the
 * same engine that validates our own traffic, and its errors name the failing field.
 */
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { Static, TSchema } from '@sinclair/typebox';
import { TOPICS, type TopicRole } from './topics';
import { RequestRecordSchema } from './messages/request';
import { SessionEventSchema, SessionRequestSchema } from './messages/event';
import { VoteSchema } from './messages/vote';
import { DecisionSchema } from './messages/decision';
import { ConfigEntrySchema } from './messages/config';
import { DeadLetterSchema } from './messages/dlq';

export const MESSAGE_SCHEMAS = {
  requests: RequestRecordSchema,
  events: SessionEventSchema,
  sessionRequests: SessionRequestSchema,
  votes: VoteSchema,
  decisions: DecisionSchema,
  config: ConfigEntrySchema,
  dlq: DeadLetterSchema,
} as const satisfies Record<TopicRole, TSchema>;

export type MessageOf<R extends TopicRole> = Static<(typeof MESSAGE_SCHEMAS)[R]>;

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Codec<T> {
  readonly role: TopicRole;
  /** Parses and validates bytes read from the topic; null only for tombstones on compacted topics. */
  decode(bytes: Buffer | null): Decoded<T | null>;
  /** Validates a value before it is written, so a bug never publishes a malformed message. */
  check(value: unknown): Decoded<T>;
  encode(value: T): Buffer;
}

/**
 * Ajv's generated validators call the built-ins `isFinite`, `isNaN` and `Array.isArray` for every
 * number and array, as global lookups. Those are cheap in a plain process but cost ~0.7 µs each
 * inside a vm sandbox (Jest runs every test file in one), which made an event's validation 15×
 * slower there. Binding them once in the validator factory's scope makes them closure variables:
 * the same functions, wherever the code runs.
 */
const BIND_BUILTINS = 'const { isFinite, isNaN, Array } = globalThis;\n';

const ajv = new Ajv({
  allErrors: false,
  strict: true,
  allowUnionTypes: true,
  code: { process: (source) => BIND_BUILTINS + source },
});
addFormats(ajv, ['ipv4', 'ipv6']);

/**
 * The first error of an Ajv validation in words, naming the field: `/status must be integer`,
 * `(root) must NOT have additional properties 'foo'`. Every schema-checked input of Moat (topic
 * messages, configuration, mirror input, profile files) reports its problems this way.
 */
export function describeSchemaError(errors: readonly ErrorObject[] | null | undefined): string {
  const error = errors?.[0];
  if (!error) return '(root) is invalid';
  const where = error.instancePath || '(root)';
  const extra =
    error.keyword === 'additionalProperties'
      ? ` '${String((error.params as { additionalProperty?: string }).additionalProperty)}'`
      : '';
  return `${where} ${error.message ?? 'is invalid'}${extra}`;
}

function makeCodec<R extends TopicRole>(role: R): Codec<MessageOf<R>> {
  type T = MessageOf<R>;
  const validate = ajv.compile<T>(MESSAGE_SCHEMAS[role]);
  const tombstonesAllowed = TOPICS[role].compacted;
  const check = (value: unknown): Decoded<T> =>
    validate(value)
      ? { ok: true, value }
      : {
          ok: false,
          reason: `schema violation (${role} v1): ${describeSchemaError(validate.errors)}`,
        };
  return {
    role,
    check,
    decode(bytes) {
      if (bytes === null || bytes.length === 0) {
        return tombstonesAllowed
          ? { ok: true, value: null }
          : { ok: false, reason: `empty value on non-compacted topic role '${role}'` };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch (err) {
        return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
      }
      return check(parsed);
    },
    encode(value) {
      return Buffer.from(JSON.stringify(value), 'utf8');
    },
  };
}

export const codecs: { readonly [R in TopicRole]: Codec<MessageOf<R>> } = {
  requests: makeCodec('requests'),
  events: makeCodec('events'),
  sessionRequests: makeCodec('sessionRequests'),
  votes: makeCodec('votes'),
  decisions: makeCodec('decisions'),
  config: makeCodec('config'),
  dlq: makeCodec('dlq'),
};
