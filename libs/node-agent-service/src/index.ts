/**
 * @moat/node-agent-service: enforcement at the edge — the decision index, its follower and
 * snapshot, the enforcement policy (deny, graylist, critical endpoints), forward-auth, the
 * reverse proxy, and the Nest module and bootstrap of the node agent.
 */
export * from './ip-address';
export * from './decision-index';
export * from './decision-snapshot';
export * from './decision-follower';
export * from './critical-endpoints';
export * from './graylist-limiter';
export * from './enforcer';
export * from './block-response';
export * from './forward-auth';
export * from './reverse-proxy';
export * from './node-agent.options';
export * from './node-agent.tokens';
export * from './decision-follower.service';
export * from './forward-auth.controller';
export * from './reverse-proxy.service';
export * from './node-agent.module';
export * from './run-node-agent';
