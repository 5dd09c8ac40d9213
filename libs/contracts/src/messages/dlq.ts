/** moat.dlq.v1: a message a service could not accept, with the reason and its original bytes. */
import { Type, type Static } from '@sinclair/typebox';
import { EpochMs } from './common';

export const DeadLetterSchema = Type.Object(
  {
    v: Type.Literal(1),
    reason: Type.String({ maxLength: 4096 }),
    service: Type.String({ maxLength: 128 }),
    topic: Type.String({ maxLength: 249 }),
    partition: Type.Integer({ minimum: 0 }),
    offset: Type.String({ pattern: '^[0-9]+$' }),
    /** Original key and value, base64; null when absent. */
    key: Type.Union([Type.String(), Type.Null()]),
    value: Type.Union([Type.String(), Type.Null()]),
    failedAt: EpochMs,
  },
  { $id: 'https://moat.dev/schemas/dlq.v1.json', title: 'DeadLetter', additionalProperties: false },
);
export type DeadLetter = Static<typeof DeadLetterSchema>;
