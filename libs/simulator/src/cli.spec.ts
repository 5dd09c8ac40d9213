import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codecs } from '@moat/contracts';
import { program } from './cli';
import type { LabelEntry, NginxLogEntry } from './formats';

const NGINX_KEYS = [
  'msec',
  'request_id',
  'remote_addr',
  'request_method',
  'request_uri',
  'status',
  'request_length',
  'bytes_sent',
  'request_time',
  'http_user_agent',
  'http_referer',
  'http_accept_language',
  'http_host',
];
const lines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');
const run = (...args: string[]) => program().parseAsync(['node', 'moat-simulate', ...args]);

jest.setTimeout(90_000);

describe('moat-simulate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-simulate-'));
  const common = [
    '--seed',
    '9',
    '--humans',
    '8',
    '--scenarios',
    'scanner-paths,credential-stuffing',
    '--bots-per-scenario',
    '1',
    '--spoof',
    'none',
    '--duration',
    '20m',
    '--limit',
    '1500',
  ];
  let stderr: jest.SpyInstance;
  beforeEach(() => (stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true)));
  afterEach(() => stderr.mockRestore());

  it('writes an NGINX JSON log with a line-aligned labels sidecar', async () => {
    const out = join(dir, 'access.log');
    await run(...common, '--format', 'nginx', '--out', out);
    const log = lines(out).map((l) => JSON.parse(l) as NginxLogEntry);
    const labels = lines(`${out}.labels.jsonl`).map((l) => JSON.parse(l) as LabelEntry);
    expect(log.length).toBeGreaterThan(100);
    expect(labels).toHaveLength(log.length);
    for (const [i, entry] of log.entries()) {
      expect(Object.keys(entry)).toEqual(NGINX_KEYS);
      expect(Object.values(entry).every((v) => typeof v === 'string')).toBe(true);
      expect(labels[i].line).toBe(i + 1);
      expect(labels[i].id).toBe(entry.request_id);
    }
    expect(new Set(labels.map((l) => l.label.kind))).toEqual(new Set(['human', 'bot']));
    expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/requests\/s/);
  });

  it('writes the same mirror input for the same seed, and moat.requests.v1 records with a secret', async () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    await run(...common, '--out', a);
    await run(...common, '--out', b);
    expect(readFileSync(a)).toEqual(readFileSync(b));
    const records = join(dir, 'records.jsonl');
    await run(
      ...common,
      '--format',
      'requests',
      '--secret',
      'a-secret-of-16-chars!',
      '--limit',
      '300',
      '--out',
      records,
    );
    const parsed = lines(records).map((l) => JSON.parse(l) as unknown);
    expect(parsed).toHaveLength(300);
    expect(parsed.every((r) => codecs.requests.check(r).ok)).toBe(true);
  });

  it('refuses to hash without a secret', async () => {
    const before = process.env.MOAT_HASH_SECRET;
    delete process.env.MOAT_HASH_SECRET;
    try {
      await expect(run(...common, '--format', 'requests', '--out', join(dir, 'x'))).rejects.toThrow(
        /--secret/,
      );
    } finally {
      if (before !== undefined) process.env.MOAT_HASH_SECRET = before;
    }
  });
});
