/** @moat/scoring-service: confidence per bot type, profiles, decisions, bots registry and statistics. */
export * from './confidence';
export * from './profiles';
export * from './manual';
export * from './policy';
export * from './score.processor';
export * from './expiry';
export * from './registry';
export * from './statistics';
export * from './weights';
export * from './default-weights';
export * from './profile-file';
export * from './profile-admin';
export * from './scoring.handler';
export * from './config-entries.handler';
export * from './scoring.service';
export * from './scoring.controller';
export * from './scoring.module';
