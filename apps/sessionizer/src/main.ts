/** sessionizer: moat.requests.v1 → sessions in Redis → moat.events.v1. */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import {
  SessionizerModule,
  sessionizerEnv,
  sessionizerOptionsFromEnv,
  type SessionizerOptions,
} from '@moat/sessionizer-service';
import { distributedRuntimeFromEnv, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...sessionizerEnv });
  let options: SessionizerOptions;
  try {
    options = sessionizerOptionsFromEnv(env);
  } catch (err) {
    process.stderr.write(`Configuration error: ${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG, as for every other configuration error
  }
  await runService({
    service: 'sessionizer',
    runtime: distributedRuntimeFromEnv('sessionizer', env),
    modules: [SessionizerModule.register(options)],
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
