/** Injection tokens of the node agent module. */
export const NODE_AGENT_OPTIONS = Symbol('NODE_AGENT_OPTIONS');
