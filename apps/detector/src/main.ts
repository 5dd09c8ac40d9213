/**
 * detector: hosts the detector named by MOAT_DETECTOR on moat.events.v1 and publishes its
 * votes on moat.votes.v1. One deployment per detector, each scaled on its own.
 */
import { kafkaEnv, loadConfigOrExit, redisEnv, serviceEnv } from '@moat/config';
import {
  DetectorHostModule,
  detectorEnv,
  hostedDetectors,
  type HostedDetector,
} from '@moat/detector-service';
import { distributedRuntimeFromEnv, runService } from '@moat/stream-kit';

async function main(): Promise<void> {
  const env = loadConfigOrExit({ ...serviceEnv, ...kafkaEnv, ...redisEnv, ...detectorEnv });
  let hosted: HostedDetector[];
  try {
    const overrides: unknown = JSON.parse(env.MOAT_DETECTOR_CONFIG);
    hosted = hostedDetectors([env.MOAT_DETECTOR], { [env.MOAT_DETECTOR]: overrides });
  } catch (err) {
    process.stderr.write(
      `Configuration error: MOAT_DETECTOR / MOAT_DETECTOR_CONFIG: ${(err as Error).message}\n`,
    );
    process.exit(78);
  }
  const service = `detector-${env.MOAT_DETECTOR}`;
  await runService({
    service,
    runtime: distributedRuntimeFromEnv(service, env),
    modules: [DetectorHostModule.register(hosted, { shards: env.MOAT_TOPIC_PARTITIONS })],
    port: env.PORT,
    host: env.HOST,
  });
}

void main();
