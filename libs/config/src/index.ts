/** @moat/config: environment schemas and their validation. */
export * from './load-config';
export * from './validators';
export * from './common-env';
