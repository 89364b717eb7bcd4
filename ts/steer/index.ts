/**
 * Steering rules for the XDP program: the plain-data rule shape the native
 * core accepts, and the `--steer` expression parser that produces it.
 */
export * from './rules.js';
export * from './parse.js';
export * from './reach.js';
