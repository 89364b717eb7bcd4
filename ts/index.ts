/**
 * afxdp: packet handlers in TypeScript at AF_XDP speed.
 *
 *   import { open, Verdict } from 'afxdp';
 *   const port = await open({ interface: 'eth0' });
 *   await port.run((packet) => Verdict.Drop);
 */
export { open, Port } from './port.js';
export type { OpenOptions, Handler, RunOptions, PortStats, XdpSocketStats } from './port.js';
export { Packet } from './packet-view.js';
export { Verdict } from './verdict.js';
export { Capture } from './capture/index.js';
export type { CaptureOptions, CaptureStats } from './capture/index.js';
export { PortRules, KernelFastPath, steerTestRun } from './steering.js';
export type { RuleCounter, SteerSpec, BlockOptions, BlockEntry, OffloadEntry, FrameVerdict } from './steering.js';
export type { OffloadOptions } from './packet-view.js';
export { parseSteer, steerRuleSet, SteerSyntaxError, MAX_RULES, MAX_TERMS, reachabilityWarnings } from './steer/index.js';
export type { RuleSet, SteerRule, SteerAction, Match, Direction, ReachabilityWarning } from './steer/index.js';
export { AfxdpError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { enterNetns } from './netns.js';
export { Lab } from './lab.js';
export type { LabOptions, LabEnd } from './lab.js';
export * from './packet/index.js';
export { runHandler, HandlerHarness } from './replay.js';
export type { RunHandlerResult, RunHandlerOptions, FrameOutcome, FrameInput, VerdictName, OfflinePort } from './replay.js';
export type { HandlerContext } from './handler/context.js';
export { loadHandlerModule, HandlerLoadError } from './handler/module.js';
export type { HandlerModule } from './handler/module.js';
