/**
 * @moat/simulator: labelled, deterministic traffic of people and bots on a simulated
 * e-commerce API, and helpers that run it through the real normaliser and sessionizer.
 */
export * from './simulation.types';
export * from './simulate';
export * from './population';
export * from './pipeline';
export * from './formats';
export { SCENARIO_BOT_TYPE, LONG_RUNNING } from './bots';
export { HUMAN_TIMING, PERSONAS, type Persona } from './humans';
export { Rng } from './rng';
export { Site, type Exchange, type SiteOptions } from './site';
export * from './login-peak';
