// Shared Jest settings: SWC transpiles TypeScript (with decorator metadata for Nest) and
// @moat/* imports resolve to library sources, so unit tests need no build.
const path = require('node:path');
const fs = require('node:fs');
const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swcrc, swcrc: false }] },
  moduleNameMapper: { '^@moat/([a-z-]+)$': path.join(__dirname, 'libs/$1/src/index.ts') },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Jest runs each test file in a vm context, where every read of a global (Math, Map, JSON…)
  // goes through the context's interceptor: ~0.3–0.7 µs instead of ~1 ns (nodejs/node#31658).
  // Detectors and the sessionizer read such globals per event, which made the simulated
  // populations ~10× slower to process in Jest than in the service. Injected globals become
  // parameters of each module's wrapper: the same objects, read as local variables. (Not Date
  // or the timers, which fake timers replace on the global object; and not names a dependency
  // declares itself — redis-parser has `const Buffer = …`, which a parameter would clash with.)
  sandboxInjectedGlobals: [
    'Math',
    'JSON',
    'Number',
    'Array',
    'Object',
    'Map',
    'Set',
    'isFinite',
    'isNaN',
  ],
};
