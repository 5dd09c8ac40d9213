/** @moat/observability: structured logs, Prometheus metrics, health and readiness. */
export * from './logger';
export * from './metrics';
export * from './health';
export * from './observability.module';
