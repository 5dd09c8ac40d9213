/** Nest module serving /healthz, /readyz and /metrics for whatever services share the process. */
import {
  Controller,
  Get,
  Global,
  Header,
  HttpCode,
  HttpException,
  Module,
  type DynamicModule,
} from '@nestjs/common';
import { HealthRegistry, type HealthReport } from './health';
import { PipelineMetrics } from './metrics';

@Controller()
class ObservabilityController {
  constructor(
    private readonly health: HealthRegistry,
    private readonly metrics: PipelineMetrics,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  readyz(): HealthReport {
    const report = this.health.report();
    if (report.status === 'down') throw new HttpException(report, 503);
    return report;
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(health: HealthRegistry, metrics: PipelineMetrics): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [ObservabilityController],
      providers: [
        { provide: HealthRegistry, useValue: health },
        { provide: PipelineMetrics, useValue: metrics },
      ],
      exports: [HealthRegistry, PipelineMetrics],
    };
  }
}
