/**
 * Makes a StreamRuntime available to a Nest application and ties its life to the app's:
 * services start their consumers in onApplicationBootstrap and stop them (finish the batch,
 * commit) in beforeApplicationShutdown; this module disconnects the bus and the store last.
 */
import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ObservabilityModule } from '@moat/observability';
import { StreamRuntime } from '../runtime';

export const STREAM_RUNTIME = Symbol('STREAM_RUNTIME');

/** Injects the process's StreamRuntime. */
export const InjectRuntime = () => Inject(STREAM_RUNTIME);

@Injectable()
class RuntimeLifecycle implements OnApplicationShutdown {
  constructor(@InjectRuntime() private readonly runtime: StreamRuntime) {}

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.runtime.logger.info({ signal }, 'shutting down: disconnecting bus and state store');
    await this.runtime.close();
  }
}

@Global()
@Module({})
export class StreamRuntimeModule {
  static forRoot(runtime: StreamRuntime): DynamicModule {
    return {
      module: StreamRuntimeModule,
      imports: [ObservabilityModule.forRoot(runtime.health, runtime.metrics)],
      providers: [{ provide: STREAM_RUNTIME, useValue: runtime }, RuntimeLifecycle],
      exports: [STREAM_RUNTIME],
    };
  }
}
