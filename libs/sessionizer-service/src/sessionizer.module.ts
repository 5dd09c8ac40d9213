import { Module, type DynamicModule } from '@nestjs/common';
import { duration, str } from '@moat/config';
import { loadSessionizerConfig } from './session-config';
import { SessionizerService, SESSIONIZER_OPTIONS } from './sessionizer.service';
import type { SessionizerOptions } from './session.processor';

export const sessionizerEnv = {
  MOAT_SESSION_INACTIVITY: duration({
    default: 1_800_000,
    desc: 'session inactivity timeout (event time), e.g. 30m',
  }),
  MOAT_SESSIONIZER_CONFIG: str({
    default: '',
    desc: 'per-application session keys, auth rules and routes: a JSON file path or inline JSON',
  }),
};

/**
 * The sessionizer's options from its validated environment. Throws one line naming the
 * variable when the per-application configuration is unreadable or invalid.
 */
export function sessionizerOptionsFromEnv(env: {
  MOAT_SESSION_INACTIVITY: number;
  MOAT_SESSIONIZER_CONFIG: string;
}): SessionizerOptions {
  try {
    return {
      inactivityMs: env.MOAT_SESSION_INACTIVITY,
      config: loadSessionizerConfig(env.MOAT_SESSIONIZER_CONFIG),
    };
  } catch (err) {
    throw new Error(`MOAT_SESSIONIZER_CONFIG: ${(err as Error).message}`);
  }
}

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
