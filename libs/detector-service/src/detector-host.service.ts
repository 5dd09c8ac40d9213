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
  tallyStoreFor,
  type StreamRuntime,
  type Subscription,
  type TallyStore,
} from '@moat/stream-kit';
import type { BaselineBookOptions } from './baseline-book';
import { hostedDetectorHandler } from './cross-session.handler';

export const HOSTED_DETECTORS = Symbol('HOSTED_DETECTORS');
export const DETECTOR_HOST_OPTIONS = Symbol('DETECTOR_HOST_OPTIONS');

export type DetectorHostOptions = BaselineBookOptions;

export interface HostedDetector {
  detector: AnyDetector;
  config: unknown;
}

@Injectable()
export class DetectorHostService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];
  /** Opened for the first hosted detector that keeps cross-session tallies. */
  private tallies?: TallyStore;

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(HOSTED_DETECTORS) private readonly hosted: HostedDetector[],
    @Inject(DETECTOR_HOST_OPTIONS) private readonly options: DetectorHostOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const { detector, config } of this.hosted) {
      const service = `detector-${detector.id}`;
      this.subscriptions.push(
        await this.runtime.consume({
          service,
          groupId: service,
          input: 'events',
          handler: hostedDetectorHandler(
            detector,
            config,
            this.runtime.store,
            detector.tallies ? await this.tallyStore() : undefined,
            this.options,
          ),
        }),
      );
      this.runtime.logger.info(
        { detector: detector.id, config, learns: Object.keys(detector.baseline?.metrics ?? {}) },
        'detector hosted',
      );
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.stop()));
    await this.tallies?.close();
  }

  private async tallyStore(): Promise<TallyStore> {
    if (!this.tallies) {
      this.tallies = tallyStoreFor(this.runtime.store);
      await this.tallies.connect();
    }
    return this.tallies;
  }
}
