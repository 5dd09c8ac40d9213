// Replay throughput: `moat replay` over a simulated NGINX JSON access log (libs/simulator,
// people and every bot scenario) and the same traffic in the combined format, through the whole
// standalone pipeline with every detector in the registry. Runs the real CLI as a child process
// and reads its JSON summary; prints every run, the medians, and where the time went per stage.
//
//   npm run build && node tools/bench/replay.mjs [--lines 200000] [--runs 3] [--formats nginx-json,combined]
//     [--detectors request-rate,...]   (default: every detector in the registry)
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    formats: { type: 'string', default: 'nginx-json,combined' },
    // Default: every detector in the registry (the CLI's default); a list measures a subset.
    detectors: { type: 'string' },
  },
});
const LINES = Number(args.lines);
const WORK = join(ROOT, 'tmp', 'bench');
for (const built of ['apps/cli/dist/main.js', 'libs/simulator/dist/cli.js']) {
  if (!existsSync(join(ROOT, built))) {
    console.error(`replay bench: ${built} is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}
mkdirSync(WORK, { recursive: true });

const json = join(WORK, `simulated-${LINES}.nginx.log`);
if (!existsSync(json)) {
  console.error(`generating ${LINES} lines of simulated NGINX JSON log → ${json}`);
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'libs/simulator/dist/cli.js'),
      '--preset',
      'standard',
      '--format',
      'nginx',
      '--limit',
      String(LINES),
      '--out',
      json,
      '--labels',
      `${json}.labels.jsonl`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/** The same requests as NGINX's combined format would log them. */
async function toCombined(from, to) {
  const months = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const p = (n) => String(n).padStart(2, '0');
  const esc = (v) =>
    v
      ? String(v).replace(/["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase()}`)
      : '-';
  const out = createWriteStream(to);
  for await (const line of createInterface({ input: createReadStream(from) })) {
    if (!line) continue;
    const e = JSON.parse(line);
    const d = new Date(Math.round(Number(e.msec) * 1000));
    const time = `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
    const ok = out.write(
      `${e.remote_addr} - - [${time}] "${e.request_method} ${e.request_uri} HTTP/1.1" ${e.status} ${e.bytes_sent ?? 0} "${esc(e.http_referer)}" "${esc(e.http_user_agent)}"\n`,
    );
    if (!ok) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}
const combined = join(WORK, `simulated-${LINES}.combined.log`);
if (args.formats.includes('combined') && !existsSync(combined)) await toCombined(json, combined);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.error(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const results = [];
for (const format of args.formats.split(',')) {
  const file = format === 'combined' ? combined : json;
  for (let i = 0; i < Number(args.runs); i++) {
    const child = spawnSync(
      process.execPath,
      [
        join(ROOT, 'apps/cli/bin/moat.js'),
        'replay',
        file,
        '--format',
        format,
        '--out',
        '/dev/null',
        '--summary',
        'json',
        ...(args.detectors ? ['--detectors', args.detectors] : []),
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    if (child.status !== 0) {
      console.error(child.stderr);
      process.exit(1);
    }
    const summary = JSON.parse(child.stderr.trim().split('\n').pop());
    results.push({ format, ...summary });
    console.log(
      `${format.padEnd(10)} run ${i + 1}: ${summary.lines.toLocaleString('en-US')} lines in ${summary.seconds.toFixed(2)} s = ${summary.linesPerSecond.toLocaleString('en-US')} lines/s (${summary.cpuSeconds.toFixed(2)} CPU s; ${summary.decisionsWritten} decisions for ${summary.decidedIps} IPs)`,
    );
  }
}
console.log('\nmedians:');
const summary = [];
for (const format of args.formats.split(',')) {
  const rs = results.filter((r) => r.format === format);
  const stages = {};
  for (const stage of Object.keys(rs[0].stageSeconds))
    stages[stage] = median(rs.map((r) => r.stageSeconds[stage]));
  const row = {
    format,
    runs: rs.length,
    lines: rs[0].lines,
    detectors: rs[0].detectors.length,
    linesPerSecond: median(rs.map((r) => r.linesPerSecond)),
    linesPerCpuSecond: Math.round(median(rs.map((r) => r.lines / r.cpuSeconds))),
    microsecondsPerLine: Object.fromEntries(
      Object.entries(stages).map(([s, t]) => [s, Number(((t / rs[0].lines) * 1e6).toFixed(1))]),
    ),
  };
  summary.push(row);
  console.log(
    `  ${format.padEnd(10)} ${row.linesPerSecond.toLocaleString('en-US')} lines/s (${row.linesPerCpuSecond.toLocaleString('en-US')} per CPU second), ${row.detectors} detectors`,
  );
  console.log(
    `             µs per line: ${Object.entries(row.microsecondsPerLine)
      .sort((a, b) => b[1] - a[1])
      .map(([s, us]) => `${s} ${us}`)
      .join(', ')}`,
  );
}
console.log(JSON.stringify({ bench: 'replay', lines: LINES, load: loadavg()[0], summary }));
