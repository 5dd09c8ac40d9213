/**
 * NestJS integration: `MoatModule.forRoot(options or a MoatGuard)` applies the guard as a
 * middleware to every route (Express or Fastify platform), starts it with the application and
 * stops it (snapshot written) on shutdown. The MoatGuard is injectable, e.g. for a health check.
 */
import {
  Inject,
  Injectable,
  Module,
  RequestMethod,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { MoatGuard, type MoatGuardOptions } from './moat-guard';

@Injectable()
class MoatLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(MoatGuard) private readonly guard: MoatGuard) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.guard.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.guard.stop();
  }
}

@Module({})
export class MoatModule implements NestModule {
  constructor(@Inject(MoatGuard) private readonly guard: MoatGuard) {}

  static forRoot(options: MoatGuardOptions | MoatGuard): DynamicModule {
    const guard = options instanceof MoatGuard ? options : new MoatGuard(options);
    return {
      module: MoatModule,
      global: true,
      providers: [{ provide: MoatGuard, useValue: guard }, MoatLifecycle],
      exports: [MoatGuard],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(this.guard.express()).forRoutes({ path: '*', method: RequestMethod.ALL });
  }
}
