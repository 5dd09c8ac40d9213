import { HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { StreamRuntime } from '@moat/stream-kit';
import { MirrorController } from './mirror.controller';
import type { MirrorOptions } from './mirror.options';
import { capturingIntake, counterValue, quietLogger } from './testing/capture';

function controller(queue = 10) {
  const capture = capturingIntake({ maxQueued: queue });
  const headers: Record<string, string> = {};
  const reply = {
    header: (name: string, value: string) => (headers[name] = value),
  } as unknown as FastifyReply;
  const ctrl = new MirrorController(
    { logger: quietLogger } as unknown as StreamRuntime,
    capture.intake,
    { maxBatch: 5 } as MirrorOptions,
  );
  return { ctrl, reply, headers, ...capture };
}

const item = (i: number) => ({ ip: `192.0.2.${i}`, method: 'GET', path: `/${i}`, status: 200 });

async function status(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  try {
    return { status: 202, body: await promise };
  } catch (err) {
    if (!(err instanceof HttpException)) throw err;
    return { status: err.getStatus(), body: err.getResponse() };
  }
}

describe('MirrorController', () => {
  it('publishes the valid items and rejects the others by index', async () => {
    const { ctrl, reply, producer } = controller();
    const result = await status(ctrl.ingest([item(1), { ip: 'x' }, item(2)], reply));
    expect(result).toEqual({
      status: 202,
      body: {
        accepted: 2,
        rejected: [{ index: 1, reason: "(root) must have required property 'method'" }],
      },
    });
    expect(producer.records.map((r) => r.source)).toEqual(['http', 'http']);
  });

  it('answers 400 for nothing valid and 413 over the batch limit', async () => {
    const { ctrl, reply } = controller();
    expect((await status(ctrl.ingest({ nope: 1 }, reply))).status).toBe(400);
    expect((await status(ctrl.ingest([{}], reply))).status).toBe(400);
    expect((await status(ctrl.ingest([1, 2, 3, 4, 5, 6].map(item), reply))).status).toBe(413);
  });

  it('answers 429 with Retry-After when the queue is full, 503 when the broker fails', async () => {
    const { ctrl, reply, headers, producer, metrics, intake } = controller(3);
    // Hold the queue: the producer never answers.
    producer.send = () => new Promise(() => undefined);
    expect(
      (
        await status(
          Promise.race([ctrl.ingest([item(1), item(2)], reply), Promise.resolve('pending')]),
        )
      ).body,
    ).toBe('pending');
    const full = await status(ctrl.ingest([item(3), item(4)], reply));
    expect(full.status).toBe(429);
    expect(headers['retry-after']).toBe('1');
    expect(
      await counterValue(metrics, 'moat_mirror_dropped_total', {
        source: 'http',
        reason: 'queue_full',
      }),
    ).toBe(2);

    const broken = controller();
    broken.producer.failing = true;
    expect((await status(broken.ctrl.ingest([item(1)], broken.reply))).status).toBe(503);
    expect(broken.intake.publisher.failing).toBe(true);
    expect(intake.publisher.size).toBe(2);
  });
});
