/** @moat/contracts: topic names, keys, message schemas and the client-address rule. No I/O. */
export * from './vocabulary';
export * from './topics';
export * from './codec';
export * from './messages/common';
export * from './messages/request';
export * from './messages/event';
export * from './messages/vote';
export * from './messages/decision';
export * from './messages/config';
export * from './messages/dlq';
export * from './client-address';
export * from './subject';
