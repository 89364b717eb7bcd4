// Preloaded (node --require) by the unit tier: any attempt to load the
// native addon fails, as on a machine where it is not installed. The unit
// tier proves the offline half (toolkit, Verdict, runHandler, replay, steer
// parser) needs no addon; tests that need it belong to test/native or priv.
'use strict';
const Module = require('node:module');
const original = Module._load;
Module._load = function load(request, parent, isMain) {
  if (/(^|[\\/])native[\\/]index\.cjs$|\.node$/.test(request)) {
    throw new Error(`the unit tier runs without the native addon (tried to load ${request}): move this test to test/native or test/priv`);
  }
  return original.call(this, request, parent, isMain);
};
