import { appendFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capturingIntake, counterValue, quietLogger, until } from '../testing/capture';
import { FileTailSource, type FileTailOptions } from './file-tail.source';
import { createLineParser } from './line-parser';

const line = (i: number, path = `/p/${i}`) =>
  `${JSON.stringify({ msec: `${1764000000 + i}.000`, remote_addr: '203.0.113.1', request_method: 'GET', request_uri: path, status: '200' })}\n`;

function setup(overrides: Partial<FileTailOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'moat-tail-'));
  const path = join(dir, 'access.log');
  const capture = capturingIntake();
  const options: FileTailOptions = {
    path,
    parser: createLineParser({ format: 'nginx-json' }),
    checkpointDir: join(dir, 'state'),
    startAt: 'beginning',
    maxLineBytes: 4096,
    pollMs: 20,
    rotateGraceMs: 50,
    ...overrides,
  };
  const tail = () => new FileTailSource(options, capture.intake, quietLogger);
  return { dir, path, tail, ...capture };
}

const paths = (records: { path: string }[]) => records.map((r) => r.path);

describe('FileTailSource', () => {
  it('publishes appended lines, waits for a partial last line, counts bad ones', async () => {
    const { path, tail, producer, metrics } = setup();
    writeFileSync(path, line(1) + 'not json\n' + line(2).slice(0, 20));
    const source = tail();
    source.start();
    await until('line 1', () => producer.records.length === 1);
    appendFileSync(path, line(2).slice(20) + `${'x'.repeat(5000)}\n` + line(3));
    await until('lines 2 and 3', () => producer.records.length === 3);
    await source.stop();
    expect(paths(producer.records)).toEqual(['/p/1', '/p/2', '/p/3']);
    expect(producer.records[0]).toMatchObject({
      source: 'nginx-json',
      partialHeaders: true,
      ts: 1_764_000_001_000,
    });
    expect(
      await counterValue(metrics, 'moat_mirror_rejected_total', {
        source: 'file',
        reason: 'malformed',
      }),
    ).toBe(1);
    expect(
      await counterValue(metrics, 'moat_mirror_rejected_total', {
        source: 'file',
        reason: 'oversized',
      }),
    ).toBe(1);
  });

  it('resumes after a restart where it stopped, without repeating or skipping', async () => {
    const { path, tail, producer } = setup();
    writeFileSync(path, line(1) + line(2));
    const first = tail();
    first.start();
    await until('two lines', () => producer.records.length === 2);
    await first.stop();
    appendFileSync(path, line(3));
    const second = tail();
    second.start();
    await until('line 3', () => producer.records.length === 3);
    await new Promise((r) => setTimeout(r, 100));
    await second.stop();
    expect(paths(producer.records)).toEqual(['/p/1', '/p/2', '/p/3']);
  });

  it('follows a rename rotation: drains the old file, then reads the new one from its start', async () => {
    const { path, tail, producer } = setup();
    writeFileSync(path, line(1));
    const source = tail();
    source.start();
    await until('line 1', () => producer.records.length === 1);
    renameSync(path, `${path}.1`);
    // NGINX writes to the old file until it reopens its logs.
    appendFileSync(`${path}.1`, line(2));
    writeFileSync(path, line(3));
    await until('lines 2 and 3', () => producer.records.length === 3);
    await source.stop();
    expect(paths(producer.records)).toEqual(['/p/1', '/p/2', '/p/3']);
    expect(source.counts.rotations).toBe(1);
  });

  it('finishes a file rotated while it was stopped before the new one', async () => {
    const { path, tail, producer } = setup();
    writeFileSync(path, line(1));
    const first = tail();
    first.start();
    await until('line 1', () => producer.records.length === 1);
    await first.stop();
    appendFileSync(path, line(2));
    renameSync(path, `${path}.1`);
    writeFileSync(path, line(3));
    const second = tail();
    second.start();
    await until('lines 2 and 3', () => producer.records.length === 3);
    await second.stop();
    expect(paths(producer.records)).toEqual(['/p/1', '/p/2', '/p/3']);
  });

  it('reads a truncated file (copytruncate) again from its start', async () => {
    const { path, tail, producer } = setup();
    writeFileSync(path, line(1) + line(2));
    const source = tail();
    source.start();
    await until('two lines', () => producer.records.length === 2);
    truncateSync(path, 0);
    appendFileSync(path, line(3));
    await until('line 3', () => producer.records.length === 3);
    await source.stop();
    expect(paths(producer.records)).toEqual(['/p/1', '/p/2', '/p/3']);
    expect(source.counts.truncations).toBe(1);
  });

  it('starts at the end of an existing file when told to, and waits for a missing one', async () => {
    const { path, tail, producer } = setup({ startAt: 'end' });
    const source = tail();
    source.start();
    await new Promise((r) => setTimeout(r, 60));
    writeFileSync(path, line(1));
    await until('line 1 of a file created later', () => producer.records.length === 1);
    await source.stop();

    const other = setup({ startAt: 'end' });
    writeFileSync(other.path, line(1));
    const late = other.tail();
    late.start();
    await new Promise((r) => setTimeout(r, 60));
    appendFileSync(other.path, line(2));
    await until('line 2', () => other.producer.records.length === 1);
    await late.stop();
    expect(paths(other.producer.records)).toEqual(['/p/2']);
  });

  it('follows a Kubernetes container log (CRI): pieces of a long line are joined, not counted bad', async () => {
    const { path, tail, producer, metrics } = setup();
    const cri = (stream: string, tag: string, text: string) =>
      `2025-12-31T16:40:00.000000001Z ${stream} ${tag} ${text}\n`;
    const long = line(2, `/p/2/${'q'.repeat(300)}`).trimEnd();
    writeFileSync(
      path,
      cri('stdout', 'F', line(1).trimEnd()) +
        cri('stdout', 'P', long.slice(0, 100)) +
        cri('stderr', 'F', 'nginx: [warn] something unrelated') +
        cri('stdout', 'P', long.slice(100, 200)) +
        cri('stdout', 'F', long.slice(200)) +
        `Sep 15 16:13:46 web nginx: ${line(3)}`,
    );
    const source = tail();
    source.start();
    await until('three lines', () => producer.records.length === 3);
    await source.stop();
    expect(paths(producer.records)).toEqual(['/p/1', `/p/2/${'q'.repeat(300)}`, '/p/3']);
    expect(
      await counterValue(metrics, 'moat_mirror_rejected_total', {
        source: 'file',
        reason: 'malformed',
      }),
    ).toBe(1); // the stderr line, not the pieces
  });

  it('stops reading while the broker fails and publishes everything once it is back', async () => {
    const { path, tail, producer } = setup();
    producer.failing = true;
    writeFileSync(path, line(1) + line(2));
    const source = tail();
    source.start();
    await until('a failed send', () => producer.sends >= 1);
    producer.failing = false;
    await until('both lines', () => producer.records.length === 2, 8000);
    await source.stop();
    expect(paths(producer.records)).toEqual(['/p/1', '/p/2']);
  });
});
