/** Runs the session processor on moat.requests.v1 for the process's StreamRuntime. */
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  InjectRuntime,
  keyedHandler,
  type StreamRuntime,
  type Subscription,
} from '@moat/stream-kit';
import { SessionProcessor, type SessionizerOptions } from './session.processor';

export const SESSIONIZER_OPTIONS = Symbol('SESSIONIZER_OPTIONS');

@Injectable()
export class SessionizerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(SESSIONIZER_OPTIONS) private readonly options: SessionizerOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.runtime.consume({
      service: 'sessionizer',
      groupId: 'sessionizer',
      input: 'requests',
      handler: keyedHandler(new SessionProcessor(this.options), this.runtime.store),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
  }
}
