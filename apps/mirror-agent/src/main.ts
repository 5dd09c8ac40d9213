/** mirror-agent: takes mirrored request metadata over HTTP and publishes moat.requests.v1. */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import { MirrorModule, mirrorEnv, mirrorOptionsFromEnv } from '@moat/mirror-service';
import { distributedRuntimeFromEnv, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...mirrorEnv });
  const runtime = distributedRuntimeFromEnv('mirror-agent', env);
  await runService({
    service: 'mirror-agent',
    runtime,
    modules: [MirrorModule.register(mirrorOptionsFromEnv(env))],
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
