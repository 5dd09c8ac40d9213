/**
 * Splits a byte stream into lines with bounded memory: a line longer than `maxLineBytes` is
 * dropped (counted in `oversized`) without ever being held whole, however long it grows.
 * Bytes that are not valid UTF-8 become U+FFFD, as everywhere else Moat decodes text.
 */
export class LineSplitter {
  /** Lines dropped because they exceeded maxLineBytes. */
  oversized = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside an over-long line: discard until its end. */
  private skipping = false;

  constructor(readonly maxLineBytes: number) {}

  /** Bytes of the current unfinished line held in memory. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /**
   * Feeds a chunk; calls `line` for every complete line (without its `\n` or `\r\n`).
   * Returns the number of bytes of `chunk` consumed up to and including its last newline
   * (what a tailer may checkpoint once those lines are handled).
   */
  push(chunk: Buffer, line: (text: string) => void): number {
    let start = 0;
    let lastNewline = -1;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      lastNewline = nl;
      if (this.skipping) {
        this.skipping = false;
      } else if (this.pendingBytes + (nl - start) > this.maxLineBytes) {
        this.oversized++;
      } else {
        let text: string;
        if (this.pendingBytes > 0) {
          this.pending.push(chunk.subarray(start, nl));
          text = Buffer.concat(this.pending).toString('utf8');
        } else {
          text = chunk.toString('utf8', start, nl);
        }
        line(text.endsWith('\r') ? text.slice(0, -1) : text);
      }
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.length - start;
      if (this.pendingBytes + rest > this.maxLineBytes) {
        this.oversized++;
        this.skipping = true;
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        // Copy: the caller may reuse the chunk's memory.
        this.pending.push(Buffer.from(chunk.subarray(start)));
        this.pendingBytes += rest;
      }
    }
    return lastNewline + 1;
  }

  /** The unfinished last line at the end of the stream (a file without a final newline). */
  flush(line: (text: string) => void): void {
    if (!this.skipping && this.pendingBytes > 0) {
      const text = Buffer.concat(this.pending).toString('utf8');
      line(text.endsWith('\r') ? text.slice(0, -1) : text);
    }
    this.reset();
  }

  /** Forgets the unfinished line (a file was truncated or replaced). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
  }
}
