import { Module, type DynamicModule } from '@nestjs/common';
import { STREAM_RUNTIME, type StreamRuntime } from '@moat/stream-kit';
import { MirrorController } from './mirror.controller';
import { IntakeMetrics, MirrorIntake } from './mirror-intake';
import { MirrorIntakeService } from './mirror-intake.service';
import { Normaliser } from './normaliser';
import { RequestPublisher } from './publisher';
import { MIRROR_OPTIONS, type MirrorOptions } from './mirror.options';

/**
 * The mirror agent: the HTTP batch endpoint and the log sources (files, syslog, NGINX mirror
 * subrequests), normalised into moat.requests.v1 through one bounded, batching producer.
 */
@Module({})
export class MirrorModule {
  static register(options: MirrorOptions): DynamicModule {
    return {
      module: MirrorModule,
      controllers: [MirrorController],
      providers: [
        { provide: MIRROR_OPTIONS, useValue: options },
        { provide: Normaliser, useValue: new Normaliser(options) },
        {
          provide: MirrorIntake,
          inject: [STREAM_RUNTIME, Normaliser],
          useFactory: (runtime: StreamRuntime, normaliser: Normaliser) => {
            const produced = runtime.metrics.produced;
            const labels = { service: 'mirror-agent', topic: runtime.topics.requests };
            const publisher = new RequestPublisher(
              runtime.bus.producer({ compression: options.compression }),
              runtime.topics,
              options.publisher,
              {
                published: (count) => produced.inc(labels, count),
                failed: (count, err) =>
                  runtime.logger.warn(
                    { err: err.message, count },
                    'publishing requests failed (the broker did not acknowledge)',
                  ),
              },
            );
            return new MirrorIntake(normaliser, publisher, new IntakeMetrics(runtime.metrics));
          },
        },
        MirrorIntakeService,
      ],
      exports: [MirrorIntake, MirrorIntakeService],
    };
  }
}
