/**
 * Connectivity probe for the real infrastructure: used by the integration tests (which must
 * fail, never skip, when Kafka or Redis is unreachable) and handy for operators.
 */
import { createLogger } from '@moat/observability';
import { KafkaBus } from './kafka/kafka-bus';
import { RedisStateStore } from './state/redis-store';

export interface InfrastructureReport {
  kafka: { brokers: string[]; clusterId: string; brokerCount: number };
  redis: { url: string; version: string };
}

export async function probeInfrastructure(options: {
  brokers: string[];
  redisUrl: string;
}): Promise<InfrastructureReport> {
  const bus = new KafkaBus({
    brokers: options.brokers,
    clientId: 'moat-probe',
    partitions: 1,
    replicationFactor: 1,
    logger: createLogger('probe', 'fatal'),
  });
  const store = new RedisStateStore({ url: options.redisUrl, prefix: 'moat-probe:' });
  try {
    await bus.connect();
    const cluster = await bus.describeCluster();
    await store.connect();
    return {
      kafka: {
        brokers: options.brokers,
        clusterId: cluster.clusterId,
        brokerCount: cluster.brokers.length,
      },
      redis: { url: options.redisUrl, version: await store.serverVersion() },
    };
  } finally {
    await bus.close();
    await store.close();
  }
}
