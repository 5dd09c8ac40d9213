import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { capturingIntake, counterValue, quietLogger, until } from '../testing/capture';
import { createLineParser } from './line-parser';
import { SyslogSource } from './syslog.source';
import { syslogMessage } from './syslog';

const json = (path: string) =>
  JSON.stringify({
    msec: '1764000000.000',
    remote_addr: '192.0.2.3',
    request_method: 'GET',
    request_uri: path,
    status: '200',
  });

describe('syslogMessage', () => {
  it('strips RFC 3164 (as NGINX sends it) and RFC 5424 headers', () => {
    expect(syslogMessage('<190>Nov 25 18:40:00 web-1 nginx: {"a":1}')).toBe('{"a":1}');
    expect(syslogMessage('<190>Nov  5 08:00:00 nginx: {"a": 1}')).toBe('{"a": 1}');
    expect(
      syslogMessage(
        '<165>1 2025-11-25T18:40:00.003Z web-1 nginx 42 ID47 [ex@1 a="b\\]c"] \uFEFFhello',
      ),
    ).toBe('hello');
    expect(syslogMessage('<165>1 2025-11-25T18:40:00Z web-1 nginx - - - msg')).toBe('msg');
    expect(syslogMessage('plain line')).toBe('plain line');
  });
});

describe('SyslogSource', () => {
  it('publishes lines received over UDP and TCP', async () => {
    const { intake, producer } = capturingIntake();
    const source = new SyslogSource(
      {
        udp: { host: '127.0.0.1', port: 0 },
        tcp: { host: '127.0.0.1', port: 0 },
        parser: createLineParser({ format: 'nginx-json' }),
        source: 'nginx-json',
        maxLineBytes: 4096,
      },
      intake,
      quietLogger,
    );
    await source.start();
    try {
      const { udp, tcp } = source.addresses();
      const socket = createSocket('udp4');
      await new Promise<void>((r) =>
        socket.send(`<190>Nov 25 18:40:00 web nginx: ${json('/udp')}`, udp, '127.0.0.1', () => r()),
      );
      socket.close();
      const message = `<190>Nov 25 18:40:00 web nginx: ${json('/tcp-counted')}`;
      await new Promise<void>((resolve) => {
        const conn = connect(tcp!, '127.0.0.1', () => {
          conn.end(
            `${Buffer.byteLength(message)} ${message}<190>Nov 25 18:40:00 web nginx: ${json('/tcp-line')}\nnot a log line\n`,
          );
        });
        conn.on('close', () => resolve());
      });
      await until('three records', () => producer.records.length === 3);
      expect(producer.records.map((r) => r.path).sort()).toEqual([
        '/tcp-counted',
        '/tcp-line',
        '/udp',
      ]);
      await until('the malformed line counted', () => source.counts.malformed === 1);
    } finally {
      await source.stop();
    }
  });

  it('drops what does not fit in the queue and counts it, never silently', async () => {
    const { intake, producer, metrics } = capturingIntake({ maxQueued: 2 });
    producer.failing = true;
    const source = new SyslogSource(
      {
        udp: { host: '127.0.0.1', port: 0 },
        parser: createLineParser({ format: 'nginx-json' }),
        source: 'nginx-json',
        maxLineBytes: 4096,
      },
      intake,
      quietLogger,
    );
    await source.start();
    try {
      const socket = createSocket('udp4');
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((r) =>
          socket.send(json(`/${i}`), source.addresses().udp, '127.0.0.1', () => r()),
        );
      }
      socket.close();
      await until('all 20 accounted for', () => source.counts.messages === 20);
      await new Promise((r) => setTimeout(r, 50));
      const dropped =
        (await counterValue(metrics, 'moat_mirror_dropped_total', {
          source: 'syslog',
          reason: 'queue_full',
        })) +
        (await counterValue(metrics, 'moat_mirror_dropped_total', {
          source: 'syslog',
          reason: 'broker_error',
        }));
      expect(dropped).toBe(20);
      expect(producer.records).toHaveLength(0);
    } finally {
      await source.stop();
    }
  });
});
