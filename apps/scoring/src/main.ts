/** scoring: moat.votes.v1 → confidence per bot type → moat.decisions.v1, profiles live on moat.config.v1. */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import { ScoringModule, scoringEnv, scoringOptionsFromEnv } from '@moat/scoring-service';
import { distributedRuntimeFromEnv, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...scoringEnv });
  let options;
  try {
    options = scoringOptionsFromEnv(env);
  } catch (err) {
    process.stderr.write(`Configuration error: ${(err as Error).message}\n`);
    process.exit(78);
  }
  await runService({
    service: 'scoring',
    runtime: distributedRuntimeFromEnv('scoring', env),
    modules: [
      ScoringModule.register({
        ...options,
        redis: { url: env.REDIS_URL, prefix: env.MOAT_REDIS_PREFIX },
      }),
    ],
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
