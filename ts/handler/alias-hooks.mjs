// Module resolution hooks of the afxdp daemon:
// - a handler file anywhere on disk may `import { Verdict } from 'afxdp'`
//   (or 'afxdp/packet') and gets the very library the daemon runs, with no
//   install next to it;
// - a handler written in TypeScript (.ts) loads as an ES module even outside
//   a "type": "module" package (Node would make it CommonJS there, where
//   imports of 'afxdp' cannot work).
let aliases = {};

export function initialize(data) {
  aliases = data?.aliases ?? {};
}

export async function resolve(specifier, context, next) {
  // Hand the aliased URL down the chain, so tsx resolves (and later loads) it.
  const result = await next(aliases[specifier] ?? specifier, context);
  if (result.url?.startsWith('file:') && result.url.includes('afxdp-handler=') && /\.ts(\?|$)/.test(result.url)) {
    return { ...result, format: 'module' };
  }
  return result;
}
