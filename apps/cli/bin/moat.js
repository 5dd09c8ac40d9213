#!/usr/bin/env node
// The `moat` command (`npx moat replay …` from the repository root). Runs the compiled CLI;
// on a fresh checkout (after `npm ci`, before any build) it compiles the CLI and the libraries
// it uses once, with the TypeScript compiler the workspace installs.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..', '..', '..');
const main = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('moat: first run, compiling the CLI (tsc -b apps/cli) ...\n');
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const built = spawnSync(process.execPath, [tsc, '-b', join(root, 'apps/cli/tsconfig.lib.json')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status !== 0 || !existsSync(main)) {
    process.stderr.write('moat: the build failed; run `npm run build` and try again\n');
    process.exit(1);
  }
}
require(main).main();
