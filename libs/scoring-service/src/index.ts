/** @moat/scoring-service: confidence per bot type, profiles and decisions. */
export * from './confidence';
export * from './profiles';
export * from './score.processor';
export * from './scoring.service';
export * from './scoring.module';
