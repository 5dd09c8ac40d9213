/** sessionizer: moat.requests.v1 → sessions in Redis → moat.events.v1. */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import { SessionizerModule, sessionizerEnv } from '@moat/sessionizer-service';
import { distributedRuntimeFromEnv, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...sessionizerEnv });
  await runService({
    service: 'sessionizer',
    runtime: distributedRuntimeFromEnv('sessionizer', env),
    modules: [SessionizerModule.register({ inactivityMs: env.MOAT_SESSION_INACTIVITY })],
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
