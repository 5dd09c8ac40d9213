/** Runs the score processor on moat.votes.v1 for the process's StreamRuntime. */
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
import { ScoreProcessor, type ScoringOptions } from './score.processor';

export const SCORING_OPTIONS = Symbol('SCORING_OPTIONS');

@Injectable()
export class ScoringService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(SCORING_OPTIONS) private readonly options: ScoringOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.runtime.consume({
      service: 'scoring',
      groupId: 'scoring',
      input: 'votes',
      handler: keyedHandler(new ScoreProcessor(this.options), this.runtime.store),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
  }
}
