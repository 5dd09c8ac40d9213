/** Starts the reverse-proxy mode when it is configured, and stops it before the agent stops. */
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectRuntime, type StreamRuntime } from '@moat/stream-kit';
import { BlockResponses } from './block-response';
import { TrustedProxies } from '@moat/contracts';
import { Enforcer } from './enforcer';
import { NODE_AGENT_OPTIONS } from './node-agent.tokens';
import type { NodeAgentOptions } from './node-agent.options';
import { ReverseProxy } from './reverse-proxy';

@Injectable()
export class ReverseProxyService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private proxy?: ReverseProxy;

  constructor(
    @InjectRuntime() private readonly runtime: StreamRuntime,
    @Inject(NODE_AGENT_OPTIONS) private readonly options: NodeAgentOptions,
    private readonly enforcer: Enforcer,
    private readonly proxies: TrustedProxies,
    private readonly responses: BlockResponses,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const config = this.options.proxy;
    if (!config) return;
    const logger = this.runtime.logger.child({ component: 'reverse-proxy' });
    this.proxy = new ReverseProxy({
      upstream: config.upstream,
      enforcer: this.enforcer,
      proxies: this.proxies,
      responses: this.responses,
      logger,
    });
    await this.proxy.listen(config.port, config.host);
    logger.info(
      { port: config.port, host: config.host, upstream: config.upstream },
      `reverse proxy listening on http://${config.host}:${config.port} → ${config.upstream}`,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.proxy?.close();
  }
}
