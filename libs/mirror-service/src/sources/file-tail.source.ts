/**
 * Follows an access log file as NGINX writes it, rotation-safe, and resumes where it stopped.
 *
 * - Reads appended bytes in chunks and hands complete lines on; a partial last line waits.
 * - Rotation by rename (logrotate's default, then `nginx -s reopen`): when the path names a new
 *   file, the old one is read to its end — NGINX keeps writing to it until it reopens, so it is
 *   drained until quiet for `rotateGraceMs` — and the new one is read from its start.
 * - Rotation by copy-and-truncate: a file shorter than the position read is read again from 0.
 * - A checkpoint (device, inode, offset of the first line not yet acknowledged by Kafka) is
 *   written atomically after lines are published. On start, reading resumes at the checkpoint;
 *   if the file was rotated meanwhile, the rotated file (found by its inode next to the log) is
 *   finished first. Lines are therefore published at least once, none skipped.
 * - Back-pressure: a chunk is read only when the publisher has room; a broker outage stops the
 *   reading (and retries the unacknowledged lines) instead of buffering the file in memory.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from '@moat/observability';
import type { LineParser } from './line-parser';
import { LineSplitter } from './line-splitter';
import type { MirrorIntake, Submission } from '../mirror-intake';

export interface FileTailOptions {
  path: string;
  parser: LineParser;
  /** Where checkpoints are kept (one small JSON file per tailed path). */
  checkpointDir: string;
  /** Without a checkpoint: read the existing file from its start, or only what is appended. */
  startAt: 'beginning' | 'end';
  maxLineBytes: number;
  pollMs?: number;
  rotateGraceMs?: number;
  chunkBytes?: number;
  /** Chunks published concurrently while the next ones are read. */
  inFlightChunks?: number;
}

interface Checkpoint {
  path: string;
  dev: number;
  ino: number;
  offset: number;
}

interface OpenFile {
  handle: FileHandle;
  dev: number;
  ino: number;
  /** Bytes read so far. */
  position: number;
}

export class FileTailSource {
  private running = false;
  private loop: Promise<void> | undefined;
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private readonly checkpointFile: string;
  private lastCheckpointWrite = 0;
  /** Lines read, published, skipped; for tests and the status log. */
  readonly counts = { lines: 0, published: 0, malformed: 0, rotations: 0, truncations: 0 };

  constructor(
    private readonly options: FileTailOptions,
    private readonly intake: MirrorIntake,
    private readonly logger: Logger,
  ) {
    const absolute = resolve(options.path);
    const id = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
    this.checkpointFile = join(options.checkpointDir, `${basename(absolute)}.${id}.offset.json`);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    try {
      this.watcher = watch(dirname(resolve(this.options.path)), () => this.wake?.());
      this.watcher.on('error', () => undefined);
    } catch {
      // Polling alone still works (e.g. a directory that does not exist yet).
    }
    this.loop = this.run().catch((err: Error) => {
      this.logger.error({ err: err.message, path: this.options.path }, 'tailing stopped');
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.watcher?.close();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 200;
    const graceMs = this.options.rotateGraceMs ?? 2000;
    const chunkBytes = this.options.chunkBytes ?? 1 << 20;
    const maxInFlight = this.options.inFlightChunks ?? 4;
    const splitter = new LineSplitter(this.options.maxLineBytes);
    const buffer = Buffer.alloc(chunkBytes);
    const inFlight: { done: Promise<void>; file: OpenFile; offset: number }[] = [];

    let file = await this.resume();
    /** When the path was seen naming another file than the one open. */
    let rotatedAt: number | undefined;

    const settle = async (all: boolean) => {
      while (inFlight.length > 0 && (all || inFlight.length >= maxInFlight)) {
        const oldest = inFlight[0];
        await oldest.done;
        inFlight.shift();
        await this.checkpoint(oldest.file, oldest.offset, inFlight.length === 0);
      }
    };

    try {
      while (this.running) {
        if (!file) {
          file = await this.openCurrent(0);
          if (!file) {
            await this.sleep(pollMs);
            continue;
          }
        }
        await this.intake.publisher.waitForRoom(1);
        const { bytesRead } = await file.handle.read(buffer, 0, chunkBytes, file.position);
        if (bytesRead > 0) {
          file.position += bytesRead;
          const submissions: Submission[] = [];
          let malformed = 0;
          splitter.push(buffer.subarray(0, bytesRead), (line) => {
            this.counts.lines++;
            if (line.length === 0) return;
            const parsed = this.options.parser(line);
            if (!parsed.ok || parsed.kind !== 'input') {
              // A piece of a split line (CRI) is published with the line it completes.
              if (parsed.ok || !parsed.pending) malformed++;
              return;
            }
            const submission: Submission = { input: parsed.entry.input, source: parsed.source };
            if (parsed.entry.requestId !== undefined) submission.requestId = parsed.entry.requestId;
            submissions.push(submission);
          });
          this.counts.malformed += malformed;
          this.intake.rejected('file', 'malformed', malformed);
          this.intake.rejected('file', 'oversized', splitter.oversized);
          splitter.oversized = 0;
          const offset = file.position - splitter.buffered;
          inFlight.push({ done: this.deliver(submissions), file, offset });
          await settle(false);
          continue;
        }

        // At the end of the file: has it been rotated or truncated?
        const current = await stat(this.options.path).catch(() => undefined);
        if (current && (current.ino !== file.ino || current.dev !== file.dev)) {
          rotatedAt ??= Date.now();
          if (Date.now() - rotatedAt >= graceMs) {
            // The old file is quiet: finish its last line, then follow the new one from 0.
            const tail: Submission[] = [];
            splitter.flush((line) => {
              const parsed = line ? this.options.parser(line) : undefined;
              if (parsed?.ok && parsed.kind === 'input') {
                tail.push({ input: parsed.entry.input, source: parsed.source });
              }
            });
            inFlight.push({ done: this.deliver(tail), file, offset: file.position });
            await settle(true);
            await file.handle.close();
            this.counts.rotations++;
            this.logger.info({ path: this.options.path }, 'log rotated; following the new file');
            file = await this.openCurrent(0);
            rotatedAt = undefined;
            continue;
          }
        } else if (current && current.size < file.position) {
          this.counts.truncations++;
          this.logger.info({ path: this.options.path }, 'log truncated; reading it from the start');
          await settle(true);
          splitter.reset();
          file.position = 0;
          continue;
        } else {
          rotatedAt = undefined;
        }
        await settle(true);
        await this.sleep(rotatedAt !== undefined ? Math.min(pollMs, 100) : pollMs);
      }
    } finally {
      await settle(true).catch(() => undefined);
      if (file)
        await this.writeCheckpoint(file, file.position - splitter.buffered).catch(() => undefined);
      await file?.handle.close().catch(() => undefined);
    }
  }

  /** Publishes lines, retrying on broker errors until they are acknowledged or we stop. */
  private async deliver(submissions: Submission[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.intake.submit(submissions, 'wait', 'file');
        this.counts.published += submissions.length;
        return;
      } catch (err) {
        if (!this.running) throw err;
        if (attempt === 0) {
          this.logger.warn(
            { err: (err as Error).message, path: this.options.path },
            'publishing log lines failed; retrying (reading paused)',
          );
        }
        await this.sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /** Opens the file the path names now, at `offset` (or its end when starting at the end). */
  private async openCurrent(offset: number | 'end'): Promise<OpenFile | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.options.path, 'r');
    } catch {
      return undefined;
    }
    const info = await handle.stat();
    return {
      handle,
      dev: info.dev,
      ino: info.ino,
      position: offset === 'end' ? info.size : Math.min(offset, info.size),
    };
  }

  /** Where to start: the checkpoint (finishing a file rotated while we were away), else per startAt. */
  private async resume(): Promise<OpenFile | undefined> {
    const checkpoint = await this.readCheckpoint();
    const current = await stat(this.options.path).catch(() => undefined);
    if (!checkpoint) {
      return this.openCurrent(this.options.startAt === 'end' && current ? 'end' : 0);
    }
    if (current && current.ino === checkpoint.ino && current.dev === checkpoint.dev) {
      // The same file; if it shrank below the checkpoint it was truncated: start over.
      return this.openCurrent(current.size >= checkpoint.offset ? checkpoint.offset : 0);
    }
    const rotated = await this.findRotated(checkpoint);
    if (rotated) {
      this.logger.info(
        { path: this.options.path, rotated: rotated.path },
        'the log was rotated while stopped; finishing the rotated file first',
      );
      const handle = await open(rotated.path, 'r');
      return { handle, dev: checkpoint.dev, ino: checkpoint.ino, position: checkpoint.offset };
    }
    if (current) {
      this.logger.warn(
        { path: this.options.path },
        'the checkpointed file is gone (rotated and removed?); reading the current file from its start',
      );
    }
    return this.openCurrent(0);
  }

  /** A file next to the log (access.log.1, access.log-20251124, …) with the checkpoint's inode. */
  private async findRotated(checkpoint: Checkpoint): Promise<{ path: string } | undefined> {
    const dir = dirname(resolve(this.options.path));
    const base = basename(this.options.path);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(base) || name === base || name.endsWith('.gz')) continue;
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info && info.ino === checkpoint.ino && info.dev === checkpoint.dev) {
        return { path: join(dir, name) };
      }
    }
    return undefined;
  }

  private async checkpoint(file: OpenFile, offset: number, force: boolean): Promise<void> {
    if (!force && Date.now() - this.lastCheckpointWrite < 200) return;
    await this.writeCheckpoint(file, offset);
  }

  private async writeCheckpoint(file: OpenFile, offset: number): Promise<void> {
    this.lastCheckpointWrite = Date.now();
    const checkpoint: Checkpoint = {
      path: resolve(this.options.path),
      dev: file.dev,
      ino: file.ino,
      offset,
    };
    await mkdir(this.options.checkpointDir, { recursive: true });
    const tmp = `${this.checkpointFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(checkpoint));
    await rename(tmp, this.checkpointFile);
  }

  private async readCheckpoint(): Promise<Checkpoint | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.checkpointFile, 'utf8')) as Checkpoint;
      if (
        Number.isSafeInteger(parsed.offset) &&
        Number.isSafeInteger(parsed.ino) &&
        Number.isSafeInteger(parsed.dev)
      ) {
        return parsed;
      }
    } catch {
      // none, or unreadable: start per startAt
    }
    return undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        done();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        done();
      };
    });
  }
}
