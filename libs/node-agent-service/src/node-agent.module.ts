import { Module, type DynamicModule } from '@nestjs/common';
import { STREAM_RUNTIME, type StreamRuntime } from '@moat/stream-kit';
import { BlockResponses } from './block-response';
import { TrustedProxies } from '@moat/contracts';
import { CriticalEndpoints } from './critical-endpoints';
import { DecisionFollowerService } from './decision-follower.service';
import { DecisionIndex } from './decision-index';
import { Enforcer } from './enforcer';
import { ForwardAuth } from './forward-auth';
import { ForwardAuthController } from './forward-auth.controller';
import { GraylistLimiter } from './graylist-limiter';
import { NODE_AGENT_OPTIONS } from './node-agent.tokens';
import type { NodeAgentOptions } from './node-agent.options';
import { ReverseProxyService } from './reverse-proxy.service';

export const DEFAULT_GRAYLIST = { ratePerSecond: 1, burst: 20 };

/**
 * The node agent: follows every decision, answers forward-auth checks and, when configured,
 * runs the reverse proxy. Configuration errors (a bad critical-endpoint rule, block status) fail
 * at registration, before anything starts.
 */
@Module({})
export class NodeAgentModule {
  static register(options: NodeAgentOptions): DynamicModule {
    const critical = new CriticalEndpoints(options.criticalEndpoints ?? ['default']);
    const limiter = new GraylistLimiter(options.graylist ?? DEFAULT_GRAYLIST);
    const responses = new BlockResponses(options.block);
    return {
      module: NodeAgentModule,
      controllers: [ForwardAuthController],
      providers: [
        { provide: NODE_AGENT_OPTIONS, useValue: options },
        { provide: DecisionIndex, useValue: new DecisionIndex() },
        { provide: TrustedProxies, useValue: new TrustedProxies(options.trustedProxies) },
        { provide: BlockResponses, useValue: responses },
        {
          provide: Enforcer,
          inject: [STREAM_RUNTIME, DecisionIndex],
          useFactory: (runtime: StreamRuntime, index: DecisionIndex) =>
            new Enforcer({
              index,
              critical,
              limiter,
              metrics: runtime.metrics,
              service: options.service ?? 'node-agent',
            }),
        },
        {
          provide: ForwardAuth,
          inject: [Enforcer, TrustedProxies],
          useFactory: (enforcer: Enforcer, proxies: TrustedProxies) =>
            new ForwardAuth({ enforcer, proxies, responses, allowStatus: options.allowStatus }),
        },
        DecisionFollowerService,
        ReverseProxyService,
      ],
      exports: [DecisionIndex, DecisionFollowerService, Enforcer],
    };
  }
}
