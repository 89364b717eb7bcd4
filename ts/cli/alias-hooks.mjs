// Module resolution hooks of the afxdp daemon: a handler file anywhere on
// disk may `import { Verdict } from 'afxdp'` (or 'afxdp/packet') and gets
// the very library the daemon runs, with no install next to it.
let aliases = {};

export function initialize(data) {
  aliases = data?.aliases ?? {};
}

export async function resolve(specifier, context, next) {
  // Hand the aliased URL down the chain, so tsx resolves (and later loads) it.
  return next(aliases[specifier] ?? specifier, context);
}
