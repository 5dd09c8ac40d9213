/**
 * POST /v1/requests: a JSON array of request metadata (or {"requests": [...]}). Valid items are
 * normalised and published to moat.requests.v1 before the answer, so a 202 means they are on
 * the broker (acks=all); invalid items are rejected by index with the reason, without losing
 * the valid ones. 503 when the broker does not acknowledge: the sender should retry the batch.
 */
import { Body, Controller, HttpCode, HttpException, Inject, Post } from '@nestjs/common';
import { InjectRuntime, type StreamRuntime } from '@moat/stream-kit';
import { checkMirrorInput } from './mirror-input';
import { Normaliser } from './normaliser';
import { MIRROR_OPTIONS, type MirrorOptions } from './mirror.options';
import type { RequestRecord } from '@moat/contracts';

export interface IngestResult {
  accepted: number;
  rejected: { index: number; reason: string }[];
}

@Controller('v1')
export class MirrorController {
  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    private readonly normaliser: Normaliser,
    @Inject(MIRROR_OPTIONS) private readonly options: MirrorOptions,
  ) {}

  @Post('requests')
  @HttpCode(202)
  async ingest(@Body() body: unknown): Promise<IngestResult> {
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
    const records: RequestRecord[] = [];
    const rejected: IngestResult['rejected'] = [];
    items.forEach((item, index) => {
      const checked = checkMirrorInput(item);
      if (!checked.ok) {
        rejected.push({ index, reason: checked.reason });
        return;
      }
      const record = this.normaliser.normalise(checked.value);
      if (Number.isNaN(record.ts)) rejected.push({ index, reason: '/ts is not a valid time' });
      else records.push(record);
    });
    this.runtime.metrics
      .counter('moat_mirror_rejected_total', 'Mirrored requests rejected as malformed', ['service'])
      .inc({ service: 'mirror-agent' }, rejected.length);
    if (records.length > 0) {
      try {
        await this.runtime.publish(
          'requests',
          records.map((r) => ({ key: r.ip, value: r })),
          'mirror-agent',
        );
      } catch (err) {
        this.runtime.logger.error({ err: (err as Error).message }, 'publishing requests failed');
        throw new HttpException(
          { error: 'the broker did not acknowledge the batch; retry it', accepted: 0, rejected },
          503,
        );
      }
    }
    if (records.length === 0 && rejected.length > 0) {
      throw new HttpException(
        { error: 'no valid request in the batch', accepted: 0, rejected },
        400,
      );
    }
    return { accepted: records.length, rejected };
  }
}
