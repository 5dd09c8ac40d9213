import { Module, type DynamicModule } from '@nestjs/common';
import { duration } from '@moat/config';
import { SessionizerService, SESSIONIZER_OPTIONS } from './sessionizer.service';
import type { SessionizerOptions } from './session.processor';

export const sessionizerEnv = {
  MOAT_SESSION_INACTIVITY: duration({
    default: 1_800_000,
    desc: 'session inactivity timeout (event time), e.g. 30m',
  }),
};

/** The sessionizer: moat.requests.v1 → sessions in the state store → moat.events.v1. */
@Module({})
export class SessionizerModule {
  static register(options: SessionizerOptions): DynamicModule {
    return {
      module: SessionizerModule,
      providers: [{ provide: SESSIONIZER_OPTIONS, useValue: options }, SessionizerService],
    };
  }
}
