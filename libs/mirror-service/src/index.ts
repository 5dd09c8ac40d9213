/** @moat/mirror-service: the mirror agent's ingestion and normalisation. */
export * from './mirror-input';
export * from './normaliser';
export * from './mirror.env';
export * from './mirror.options';
export * from './mirror.controller';
export * from './mirror.module';
