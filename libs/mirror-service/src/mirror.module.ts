import { Module, type DynamicModule } from '@nestjs/common';
import { MirrorController } from './mirror.controller';
import { Normaliser } from './normaliser';
import { MIRROR_OPTIONS, type MirrorOptions } from './mirror.options';

/** The mirror agent: the HTTP batch endpoint and normalisation into moat.requests.v1. */
@Module({})
export class MirrorModule {
  static register(options: MirrorOptions): DynamicModule {
    return {
      module: MirrorModule,
      controllers: [MirrorController],
      providers: [
        { provide: MIRROR_OPTIONS, useValue: options },
        { provide: Normaliser, useValue: new Normaliser(options) },
      ],
    };
  }
}
