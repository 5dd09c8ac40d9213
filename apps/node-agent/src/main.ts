/** node-agent: follows every decision and answers forward-auth checks at the edge. */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import { NodeAgentModule, nodeAgentEnv } from '@moat/node-agent-service';
import { distributedRuntimeFromEnv, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...nodeAgentEnv });
  await runService({
    service: 'node-agent',
    // The edge keeps no shared state: its index lives in memory, rebuilt from the compacted topic.
    runtime: distributedRuntimeFromEnv('node-agent', env, 'memory'),
    modules: [NodeAgentModule.register({ trustedProxies: env.MOAT_TRUSTED_PROXIES })],
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
