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
};
