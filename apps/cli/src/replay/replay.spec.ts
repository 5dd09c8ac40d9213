import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { availableDetectors } from '@moat/detectors';
import { hostedDetectors } from '@moat/detector-service';
import { DEFAULT_PROFILE } from '@moat/scoring-service';
import { replay, formatSummary, type DecisionLine, type ReplayOptions } from './replay';

const START = Date.UTC(2025, 10, 24, 12);
const FLOODER = '203.0.113.66';
const HUMAN = '198.51.100.7';

interface Hit {
  ts: number;
  ip: string;
  path: string;
  ua: string;
}

/** A human browsing every few seconds and a scripted client flooding the catalogue. */
function traffic(): Hit[] {
  const hits: Hit[] = [];
  for (let i = 0; i < 40; i++) {
    hits.push({
      ts: START + i * 4_000,
      ip: HUMAN,
      path: `/api/products/${i % 7}`,
      ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    });
  }
  for (let i = 0; i < 1200; i++) {
    hits.push({
      ts: START + 30_000 + i * 50,
      ip: FLOODER,
      path: `/api/products/${i}`,
      ua: 'python-requests/2.32.3',
    });
  }
  return hits.sort((a, b) => a.ts - b.ts);
}

function jsonLog(hits: Hit[]): string {
  return hits
    .map((h) =>
      JSON.stringify({
        msec: (h.ts / 1000).toFixed(3),
        remote_addr: h.ip,
        host: 'shop.example',
        request_method: 'GET',
        request_uri: h.path,
        status: '200',
        bytes_sent: '512',
        request_time: '0.010',
        http_user_agent: h.ua,
      }),
    )
    .join('\n');
}

function combinedLog(hits: Hit[]): string {
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
  const p = (n: number) => String(n).padStart(2, '0');
  return hits
    .map((h) => {
      const d = new Date(h.ts);
      const time = `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
      return `${h.ip} - - [${time}] "GET ${h.path} HTTP/1.1" 200 512 "-" "${h.ua}"`;
    })
    .join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'moat-replay-'));

async function run(content: string | Buffer, name: string, overrides: Partial<ReplayOptions> = {}) {
  const path = join(dir, name);
  writeFileSync(path, content);
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const summary = await replay({
    input: path,
    format: 'auto',
    normaliser: {
      secret: 'replay-secret-0123456789',
      defaultApp: 'default',
      sessionCookies: [],
      apiKeyHeaders: [],
    },
    hosted: hostedDetectors(['request-rate']),
    profiles: [DEFAULT_PROFILE],
    inactivityMs: 1_800_000,
    verdictHorizonMs: 3_600_000,
    maxLineBytes: 1 << 20,
    extensions: false,
    out,
    ...overrides,
  });
  const decisions = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DecisionLine);
  return { summary, decisions };
}

describe('moat replay', () => {
  it('decides on a flooder from an NGINX JSON log, in event time, with the evidence', async () => {
    const { summary, decisions } = await run(jsonLog(traffic()), 'access.json');
    expect(summary).toMatchObject({
      format: 'nginx-json',
      lines: 1240,
      replayed: 1240,
      skipped: 0,
      clients: 2,
    });
    expect(decisions.map((d) => d.ip)).toEqual([FLOODER]);
    const [decision] = decisions;
    expect(decision).toMatchObject({ action: 'deny', profile: 'default', app: 'shop.example' });
    expect(decision.botTypes).toContain('scraping');
    expect(decision.confidence).toBeGreaterThanOrEqual(0.7);
    expect(decision.detectors[0].detector).toBe('request-rate');
    expect(decision.detectors[0].evidence.length).toBeGreaterThan(0);
    expect(decision.firstSeen).toBe(new Date(START + 30_000).toISOString());
    // Decided in event time, after some of the flood and well before its end.
    const decidedAt = Date.parse(decision.decidedAt);
    expect(decidedAt).toBeGreaterThan(START + 30_000);
    expect(decidedAt).toBeLessThan(START + 30_000 + 60_000);
    // Requests from the flooder up to the deciding one: the flood's pace (20/s) since its start.
    expect(decision.requestsBefore).toBe(Math.round((decidedAt - (START + 30_000)) / 50) + 1);
    expect(Date.parse(decision.expiresAt)).toBe(decidedAt + DEFAULT_PROFILE.durationMs);
  });

  it('takes the same decisions from the combined format and from a gzipped log', async () => {
    const json = await run(jsonLog(traffic()), 'a.json');
    const combined = await run(combinedLog(traffic()), 'a.log');
    expect(combined.summary.format).toBe('combined');
    const gz = await run(gzipSync(combinedLog(traffic())), 'a.log.gz');
    const key = (d: DecisionLine) => [d.ip, d.action, d.botTypes.join()].join('|');
    expect(combined.decisions.map(key)).toEqual(json.decisions.map(key));
    expect(gz.decisions).toEqual(combined.decisions);
    // Combined logs have whole seconds; the decision lands within a second of the JSON one.
    expect(
      Math.abs(
        Date.parse(combined.decisions[0].decidedAt) - Date.parse(json.decisions[0].decidedAt),
      ),
    ).toBeLessThan(2000);
  });

  it('is deterministic and honours the profile', async () => {
    const a = await run(jsonLog(traffic()), 'd1.json');
    const b = await run(jsonLog(traffic()), 'd2.json');
    expect(b.decisions).toEqual(a.decisions);
    const monitor = await run(jsonLog(traffic()), 'd3.json', {
      profiles: [{ ...DEFAULT_PROFILE, name: 'watch', reaction: 'monitor' }],
    });
    expect(monitor.decisions).toEqual([]);
    const other = await run(jsonLog(traffic()), 'd4.json', {
      profiles: [{ ...DEFAULT_PROFILE, applications: ['api.*'] }],
    });
    expect(other.decisions).toEqual([]);
  });

  it('counts and skips lines it cannot use, and keeps going', async () => {
    const lines = jsonLog(traffic()).split('\n');
    lines.splice(10, 0, 'garbage', '{"msec":"x"}', '', `{"a":"${'x'.repeat(5000)}"}`);
    const { summary, decisions } = await run(lines.join('\n'), 'broken.json', {
      maxLineBytes: 4096,
    });
    expect(summary).toMatchObject({ replayed: 1240, skipped: 2, oversizedLines: 1 });
    expect(summary.skippedByReason).toEqual({
      'invalid JSON': 1,
      'the time field is not a valid time': 1,
    });
    expect(decisions.map((d) => d.ip)).toEqual([FLOODER]);
    expect(formatSummary(summary)).toMatch(/1,240 replayed, 2 skipped/);
  });

  it('hosts every registered detector', async () => {
    const { summary } = await run(jsonLog(traffic()), 'all.json', {
      hosted: hostedDetectors(availableDetectors()),
    });
    expect(summary.detectors).toEqual(availableDetectors());
    expect(summary.replayed).toBe(1240);
    expect(Object.keys(summary.stageSeconds)).toEqual(
      expect.arrayContaining([
        'read',
        'sessionizer',
        'scoring',
        ...availableDetectors().map((d) => `detector-${d}`),
      ]),
    );
  });
});
