/** @moat/detector-service: hosts pure detector modules on the event stream. */
export * from './baseline-book';
export * from './detector.processor';
export * from './detector-host.service';
export * from './detector-host.module';
export * from './cross-session.handler';
