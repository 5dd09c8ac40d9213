/**
 * Access-log lines over syslog: a UDP socket (what NGINX's `access_log syslog:server=…` sends)
 * and a TCP listener (relays; newline-terminated or octet-counted frames). Syslog cannot be
 * slowed down, so what does not fit in the queue is dropped — and counted
 * (moat_mirror_dropped_total), never silently.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from '@moat/observability';
import type { MirrorIntake, Submission } from '../mirror-intake';
import type { RequestSource } from '../normaliser';
import type { LineParser } from './line-parser';
import { SyslogFramer, syslogMessage } from './syslog';

export interface SyslogOptions {
  udp?: { host: string; port: number };
  tcp?: { host: string; port: number };
  parser: LineParser;
  source: RequestSource;
  maxLineBytes: number;
  /** TCP connections at once. */
  maxConnections?: number;
}

export class SyslogSource {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<TcpSocket>();
  private batch: Submission[] = [];
  private scheduled = false;
  readonly counts = { messages: 0, malformed: 0, oversized: 0 };

  constructor(
    private readonly options: SyslogOptions,
    private readonly intake: MirrorIntake,
    private readonly logger: Logger,
  ) {}

  /** Bound addresses (the port may have been 0). */
  addresses(): { udp?: number; tcp?: number } {
    const tcp = this.tcp?.address();
    return {
      udp: this.udp?.address().port,
      tcp: tcp && typeof tcp === 'object' ? tcp.port : undefined,
    };
  }

  async start(): Promise<void> {
    const { udp, tcp } = this.options;
    if (udp) {
      const socket = createSocket({ type: udp.host.includes(':') ? 'udp6' : 'udp4' });
      this.udp = socket;
      socket.on('message', (msg) => {
        if (msg.length > this.options.maxLineBytes) {
          this.counts.oversized++;
          this.intake.rejected('syslog', 'oversized');
          return;
        }
        this.frame(msg.toString('utf8'));
      });
      socket.on('error', (err) =>
        this.logger.error({ err: err.message }, 'syslog UDP socket error'),
      );
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(udp.port, udp.host, () => {
          socket.off('error', reject);
          // A large receive buffer absorbs bursts while the event loop is busy.
          try {
            socket.setRecvBufferSize(8 * 1024 * 1024);
          } catch {
            // the kernel's limit (net.core.rmem_max) applies
          }
          resolve();
        });
      });
    }
    if (tcp) {
      const server = createServer((conn) => this.accept(conn));
      server.maxConnections = this.options.maxConnections ?? 256;
      this.tcp = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(tcp.port, tcp.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.udp) await new Promise<void>((resolve) => this.udp!.close(() => resolve()));
    for (const conn of this.connections) conn.destroy();
    if (this.tcp) await new Promise<void>((resolve) => this.tcp!.close(() => resolve()));
    this.flush();
  }

  private accept(conn: TcpSocket): void {
    this.connections.add(conn);
    const framer = new SyslogFramer(this.options.maxLineBytes);
    conn.on('data', (chunk: Buffer) => {
      framer.push(chunk, (text) => this.frame(text));
      if (framer.oversized > 0) {
        this.counts.oversized += framer.oversized;
        this.intake.rejected('syslog', 'oversized', framer.oversized);
        framer.oversized = 0;
      }
    });
    conn.on('error', () => conn.destroy());
    conn.on('close', () => this.connections.delete(conn));
  }

  private frame(text: string): void {
    this.counts.messages++;
    const line = syslogMessage(text);
    const parsed = this.options.parser(line);
    if (!parsed.ok || parsed.kind !== 'input') {
      this.counts.malformed++;
      this.intake.rejected('syslog', 'malformed');
      return;
    }
    const submission: Submission = { input: parsed.entry.input, source: parsed.source };
    if (parsed.entry.requestId !== undefined) submission.requestId = parsed.entry.requestId;
    this.batch.push(submission);
    if (!this.scheduled) {
      // Messages that arrived in one turn of the event loop are offered together.
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    this.intake.submit(batch, 'drop', 'syslog').catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'syslog batch not published');
    });
  }
}
