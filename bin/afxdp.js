#!/usr/bin/env node
// The afxdp command. Loads the CLI from its TypeScript sources through tsx,
// so handler modules (.ts or .js) load with no build step.
import { register } from 'tsx/esm/api';

register();
const { registerAlias } = await import('../ts/handler/loader.ts');
registerAlias();
const { main } = await import('../ts/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Lingering handles (a handler's timers, sockets) must not keep a finished command alive.
setTimeout(() => process.exit(code), 2000).unref();
