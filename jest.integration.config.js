const preset = require('./jest.preset');

module.exports = {
  ...preset,
  testMatch: ['<rootDir>/{apps,libs}/*/test/**/*.int-spec.ts'],
  testTimeout: 120000,
  maxWorkers: 1,
};
