/**
 * Starts one consumer per hosted detector (consumer group `detector-<id>`), so each detector
 * reads the whole event stream at its own pace and scales on its own.
 */
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { AnyDetector } from '@moat/detectors';
import {
  InjectRuntime,
  keyedHandler,
  type StreamRuntime,
  type Subscription,
} from '@moat/stream-kit';
import { DetectorProcessor } from './detector.processor';

export const HOSTED_DETECTORS = Symbol('HOSTED_DETECTORS');

export interface HostedDetector {
  detector: AnyDetector;
  config: unknown;
}

@Injectable()
export class DetectorHostService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(HOSTED_DETECTORS) private readonly hosted: HostedDetector[],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const { detector, config } of this.hosted) {
      const service = `detector-${detector.id}`;
      this.subscriptions.push(
        await this.runtime.consume({
          service,
          groupId: service,
          input: 'events',
          handler: keyedHandler(new DetectorProcessor(detector, config), this.runtime.store),
        }),
      );
      this.runtime.logger.info({ detector: detector.id, config }, 'detector hosted');
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.stop()));
  }
}
