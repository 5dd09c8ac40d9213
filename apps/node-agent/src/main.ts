/**
 * node-agent: follows every decision and enforces it at the edge — forward-auth for NGINX,
 * ingress-nginx, Traefik and Envoy on /v1/check, and optionally a reverse proxy. It starts
 * without Kafka (serving its snapshot, or failing open) and connects in the background.
 */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import { nodeAgentEnv, nodeAgentOptionsFromEnv, runNodeAgent } from '@moat/node-agent-service';
import { distributedRuntimeFromEnv } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...nodeAgentEnv });
  let options;
  try {
    options = nodeAgentOptionsFromEnv(env);
  } catch (err) {
    process.stderr.write(`Configuration error: ${(err as Error).message}\n`);
    process.exit(78);
  }
  await runNodeAgent({
    // The edge keeps no shared state: its index lives in memory, rebuilt from the compacted
    // topic and its own snapshot on disk. No Redis. Its decision follower retries connecting
    // itself, so kafkajs's admin does not (a stop is not held up by its retry timers).
    runtime: distributedRuntimeFromEnv('node-agent', env, 'memory', { adminRetries: 0 }),
    options,
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
