// Unit tests of every project (`*.spec.ts`, no broker). Integration tests (`*.int-spec.ts`)
// run through jest.integration.config.js against the real Kafka and Redis.
const preset = require('./jest.preset');

module.exports = {
  ...preset,
  testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.spec.ts'],
};
