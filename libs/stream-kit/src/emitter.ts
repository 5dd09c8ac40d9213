/**
 * Collects a batch's outputs as typed messages. Every output is validated against its contract
 * before it is encoded, so a bug surfaces as an error on the input that caused it (which is
 * dead-lettered) instead of a malformed message downstream.
 */
import { codecs, type MessageOf, type TopicNames, type TopicRole } from '@moat/contracts';
import type { OutboundMessage } from './transport';

export class InvalidOutputError extends Error {
  constructor(role: TopicRole, reason: string) {
    super(`refused to publish an invalid ${role} message: ${reason}`);
    this.name = 'InvalidOutputError';
  }
}

export class Emitter {
  private readonly messages: OutboundMessage[] = [];

  constructor(private readonly topics: TopicNames) {}

  emit<R extends TopicRole>(role: R, key: string | null, value: MessageOf<R> | null): void {
    this.messages.push(encodeOutput(this.topics, role, key, value));
  }

  /** Number of messages collected so far (to undo a failed record's partial output). */
  get length(): number {
    return this.messages.length;
  }

  truncate(length: number): void {
    this.messages.length = length;
  }

  drain(): OutboundMessage[] {
    return this.messages.splice(0, this.messages.length);
  }
}

export function encodeOutput<R extends TopicRole>(
  topics: TopicNames,
  role: R,
  key: string | null,
  value: MessageOf<R> | null,
): OutboundMessage {
  const codec = codecs[role];
  if (value === null) {
    const tombstone = codec.decode(null);
    if (!tombstone.ok) throw new InvalidOutputError(role, tombstone.reason);
    return { topic: topics[role], key, value: null };
  }
  const checked = codec.check(value);
  if (!checked.ok) throw new InvalidOutputError(role, checked.reason);
  return { topic: topics[role], key, value: codec.encode(checked.value) };
}
