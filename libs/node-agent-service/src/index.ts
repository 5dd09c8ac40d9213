/** @moat/node-agent-service: decision index, client address resolution, forward-auth. */
export * from './decision-index';
export * from './client-ip';
export * from './decision-follower.service';
export * from './forward-auth.controller';
export * from './node-agent.module';
