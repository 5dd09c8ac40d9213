/** @moat/sessionizer-service: sessions, route templates, auth attempts, running features. */
export * from './route-template';
export * from './route-learner';
export * from './auth-attempt';
export * from './session-config';
export * from './session-key';
export * from './session-window';
export * from './session.processor';
export * from './sessionizer.service';
export * from './sessionizer.module';
export * from './sessionizer.handler';
