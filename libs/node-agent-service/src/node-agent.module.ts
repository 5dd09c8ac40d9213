import { Module, type DynamicModule } from '@nestjs/common';
import { cidrList } from '@moat/config';
import { DecisionIndex } from './decision-index';
import { DecisionFollowerService } from './decision-follower.service';
import { ForwardAuthController } from './forward-auth.controller';
import { TrustedProxies } from './client-ip';

export const nodeAgentEnv = {
  MOAT_TRUSTED_PROXIES: cidrList({
    default: ['127.0.0.1/32', '::1/128'],
    desc: 'addresses/CIDRs of proxies whose X-Forwarded-For / X-Real-IP are believed',
  }),
};

export interface NodeAgentOptions {
  trustedProxies: string[];
}

/** The node agent: follows decisions and answers forward-auth checks. */
@Module({})
export class NodeAgentModule {
  static register(options: NodeAgentOptions): DynamicModule {
    return {
      module: NodeAgentModule,
      controllers: [ForwardAuthController],
      providers: [
        DecisionIndex,
        { provide: TrustedProxies, useValue: new TrustedProxies(options.trustedProxies) },
        DecisionFollowerService,
      ],
      exports: [DecisionIndex],
    };
  }
}
