/**
 * POST /v1/requests: a JSON array of request metadata (or {"requests": [...]}). Valid items are
 * normalised and published to moat.requests.v1 before the answer, so a 202 means they are on
 * the broker (acks=all); invalid items are rejected by index with the reason, without losing
 * the valid ones. When the agent's queue is full the batch is refused whole: 429 with
 * Retry-After while the broker keeps up, 503 when the broker is failing; 503 also when the
 * broker does not acknowledge. The sender retries the batch in every case.
 */
import { Body, Controller, HttpCode, HttpException, Inject, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InjectRuntime, type OutboundMessage, type StreamRuntime } from '@moat/stream-kit';
import { checkMirrorInput } from './mirror-input';
import { MirrorIntake } from './mirror-intake';
import { MIRROR_OPTIONS, type MirrorOptions } from './mirror.options';

export interface IngestResult {
  accepted: number;
  rejected: { index: number; reason: string }[];
}

@Controller('v1')
export class MirrorController {
  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    private readonly intake: MirrorIntake,
    @Inject(MIRROR_OPTIONS) private readonly options: MirrorOptions,
  ) {}

  @Post('requests')
  @HttpCode(202)
  async ingest(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<IngestResult> {
    const items = Array.isArray(body)
      ? (body as unknown[])
      : body && typeof body === 'object' && Array.isArray((body as { requests?: unknown }).requests)
        ? (body as { requests: unknown[] }).requests
        : undefined;
    if (!items) {
      throw new HttpException(
        { error: 'expected a JSON array of requests or {"requests": [...]}', accepted: 0 },
        400,
      );
    }
    if (items.length > this.options.maxBatch) {
      throw new HttpException(
        {
          error: `batch of ${items.length} exceeds the limit of ${this.options.maxBatch}; split it`,
          accepted: 0,
        },
        413,
      );
    }
    const { metrics, publisher, normaliser } = this.intake;
    metrics.received.inc({ source: 'http' }, items.length);
    const messages: OutboundMessage[] = [];
    const rejected: IngestResult['rejected'] = [];
    items.forEach((item, index) => {
      const checked = checkMirrorInput(item);
      if (!checked.ok) {
        rejected.push({ index, reason: checked.reason });
        return;
      }
      const normalised = normaliser.tryNormalise(checked.value, 'http');
      const prepared = normalised.ok ? publisher.prepare(normalised.record) : normalised;
      if (prepared.ok) messages.push(prepared.message);
      else rejected.push({ index, reason: prepared.reason });
    });
    this.intake.rejected('http', 'invalid', rejected.length);
    if (messages.length === 0) {
      if (rejected.length > 0) {
        throw new HttpException(
          { error: 'no valid request in the batch', accepted: 0, rejected },
          400,
        );
      }
      return { accepted: 0, rejected };
    }
    const sent = publisher.offer(messages);
    if (!sent) {
      const failing = publisher.failing;
      metrics.dropped.inc(
        { source: 'http', reason: failing ? 'broker_error' : 'queue_full' },
        messages.length,
      );
      void reply.header('retry-after', failing ? '5' : '1');
      throw new HttpException(
        {
          error: failing
            ? 'the broker is not acknowledging and the queue is full; retry the batch later'
            : 'the mirror agent is at capacity; retry the batch after Retry-After seconds',
          accepted: 0,
          rejected,
        },
        failing ? 503 : 429,
      );
    }
    try {
      await sent;
    } catch (err) {
      this.runtime.logger.error({ err: (err as Error).message }, 'publishing requests failed');
      metrics.dropped.inc({ source: 'http', reason: 'broker_error' }, messages.length);
      throw new HttpException(
        { error: 'the broker did not acknowledge the batch; retry it', accepted: 0, rejected },
        503,
      );
    }
    return { accepted: messages.length, rejected };
  }
}
