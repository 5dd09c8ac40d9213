/**
 * @moat/stream-kit: the Kafka and Redis adapters, the batch consumer with commit-after-ack and
 * DLQ, keyed state processing, and the in-memory bus and store for standalone and tests.
 * The only place kafkajs and ioredis are imported.
 */
export * from './transport';
export * from './emitter';
export * from './batch-pipeline';
export * from './keyed-processor';
export * from './inline/collecting-emitter';
export * from './runtime';
export * from './state/state-store';
export * from './state/memory-store';
export * from './state/redis-store';
export * from './memory/memory-bus';
export * from './kafka/kafka-bus';
export * from './nest/stream-runtime.module';
export * from './nest/run-service';
export * from './probe';
export * from './config-follower';
export * from './state/structure-store';
export * from './state/tally-store';
export * from './state/redis-client';
