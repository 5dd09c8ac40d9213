/**
 * Starts a Moat service as a Nest application on Fastify: connects the runtime (one clear line
 * and exit code 1 when Kafka or Redis is unreachable), mounts /healthz, /readyz and /metrics
 * next to the service's own modules, and shuts down cleanly on SIGTERM/SIGINT: consumers
 * finish and commit their batch, then the bus and store disconnect.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestPinoLogger } from '@moat/observability';
import type { StreamRuntime } from '../runtime';
import { StreamRuntimeModule } from './stream-runtime.module';

export interface RunServiceOptions {
  service: string;
  runtime: StreamRuntime;
  modules: (DynamicModule | Type)[];
  port: number;
  host: string;
  bodyLimitBytes?: number;
}

class MoatServiceModule {}

export async function runService(options: RunServiceOptions): Promise<NestFastifyApplication> {
  const { runtime, service } = options;
  try {
    await runtime.start();
  } catch (err) {
    runtime.logger.fatal({ err: (err as Error).message }, `${service} cannot start`);
    process.stderr.write(`${service}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const app = await NestFactory.create<NestFastifyApplication>(
    {
      module: MoatServiceModule,
      imports: [StreamRuntimeModule.forRoot(runtime), ...options.modules],
    },
    new FastifyAdapter({ bodyLimit: options.bodyLimitBytes ?? 10 * 1024 * 1024 }),
    {
      logger: new NestPinoLogger(runtime.logger.child({ component: 'nest' })),
      abortOnError: false,
    },
  );
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(options.port, options.host);
  runtime.logger.info(
    {
      port: options.port,
      host: options.host,
      mode: runtime.mode,
      bus: runtime.bus.kind,
      store: runtime.store.kind,
    },
    `${service} listening on http://${options.host}:${options.port}`,
  );
  return app;
}
