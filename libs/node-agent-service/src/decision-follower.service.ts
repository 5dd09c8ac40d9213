/**
 * The node agent's DecisionFollower as a Nest provider: loads the snapshot before the HTTP server
 * listens, follows the decisions topic in the background, reports on /readyz (check `decisions`)
 * and writes a last snapshot on shutdown.
 */
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectRuntime, type StreamRuntime } from '@moat/stream-kit';
import { DecisionFollower } from './decision-follower';
import { DecisionIndex } from './decision-index';
import { NODE_AGENT_OPTIONS } from './node-agent.tokens';
import type { NodeAgentOptions } from './node-agent.options';

@Injectable()
export class DecisionFollowerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly follower: DecisionFollower;

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    index: DecisionIndex,
    @Inject(NODE_AGENT_OPTIONS) options: NodeAgentOptions,
  ) {
    this.follower = new DecisionFollower({
      runtime,
      index,
      service: options.service ?? 'node-agent',
      snapshotPath: options.snapshotPath,
      snapshotIntervalMs: options.snapshotIntervalMs,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.runtime.health.register('decisions', () => {
      const { state, detail } = this.follower.status();
      return { state, detail };
    });
    await this.follower.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.follower.stop();
  }
}
