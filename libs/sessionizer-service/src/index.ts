/** @moat/sessionizer-service: sessions, route templates, auth attempts, running features. */
export * from './route-template';
export * from './auth-attempt';
export * from './session.processor';
export * from './sessionizer.service';
export * from './sessionizer.module';
