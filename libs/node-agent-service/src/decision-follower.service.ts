/**
 * Follows moat.decisions.v1 from the beginning (a broadcast reader: every node-agent instance
 * sees every decision) and keeps the DecisionIndex current.
 */
import {
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectRuntime, type StreamRuntime, type Subscription } from '@moat/stream-kit';
import { DecisionIndex } from './decision-index';

@Injectable()
export class DecisionFollowerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    private readonly index: DecisionIndex,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const entries = this.runtime.metrics.gauge(
      'moat_node_agent_decisions',
      'Decisions held in the index',
      ['service'],
    );
    this.subscription = await this.runtime.consume({
      service: 'node-agent',
      groupId: 'node-agent',
      input: 'decisions',
      mode: 'broadcast',
      handler: async (records) => {
        for (const record of records) {
          if (record.key === null) continue;
          this.index.apply(record.key, record.value);
        }
        entries.set({ service: 'node-agent' }, this.index.size);
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
  }
}
