/**
 * Runs the sessionizer's two stages for the process's StreamRuntime: consumer group
 * `sessionizer` on moat.requests.v1 and `sessionizer-sessions` on moat.session-requests.v1
 * (see sessionizer.handler.ts for why credential sessions are re-keyed).
 */
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectRuntime, type StreamRuntime, type Subscription } from '@moat/stream-kit';
import { sessionizerStages } from './sessionizer.handler';
import type { SessionizerOptions } from './session.processor';

export const SESSIONIZER_OPTIONS = Symbol('SESSIONIZER_OPTIONS');

@Injectable()
export class SessionizerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscriptions: Subscription[] = [];

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(SESSIONIZER_OPTIONS) private readonly options: SessionizerOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const stages = sessionizerStages(this.options, this.runtime.store);
    this.subscriptions.push(
      await this.runtime.consume({
        service: 'sessionizer-sessions',
        groupId: 'sessionizer-sessions',
        input: 'sessionRequests',
        handler: stages.sessionRequests,
      }),
    );
    this.subscriptions.push(
      await this.runtime.consume({
        service: 'sessionizer',
        groupId: 'sessionizer',
        input: 'requests',
        handler: stages.requests,
      }),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    // The first stage first, so that what it forwards can still be placed.
    for (const subscription of [...this.subscriptions].reverse()) await subscription.stop();
    this.subscriptions = [];
  }
}
