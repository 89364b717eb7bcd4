#!/usr/bin/env node
// The afxdp command: runs the compiled CLI (dist/). A TypeScript handler
// brings in tsx when it is loaded, not before (ts/handler/loader.ts).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('main.js')) {
    process.stderr.write('afxdp: dist/cli/main.js is missing: in a clone of afxdp, run `npm run build` first\n');
    process.exit(1);
  }
  throw err;
}
const code = await cli.main(process.argv.slice(2));
process.exitCode = code;
// Lingering handles (a handler's timers, sockets) must not keep a finished command alive.
setTimeout(() => process.exit(code), 2000).unref();
