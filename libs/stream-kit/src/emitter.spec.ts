import { codecs, topicNames, type Vote } from '@moat/contracts';
import { Emitter, InvalidOutputError, encodeOutput } from './emitter';

const topics = topicNames('unit');

const vote: Vote = {
  v: 1,
  id: 'request-rate:req-1',
  detector: 'request-rate',
  ts: 1_764_000_000_000,
  app: 'shop.example',
  ip: '203.0.113.7',
  verdict: 'bot',
  score: 0.8,
  evidence: [{ metric: 'requests_in_interval', value: 80, threshold: 50 }],
  eventId: 'req-1',
};

describe('Emitter', () => {
  it('encodes a valid message for its topic and key', () => {
    const out = new Emitter(topics);
    out.emit('votes', vote.ip, vote);
    const [message] = out.drain();
    expect(message.topic).toBe('unit.votes.v1');
    expect(message.key).toBe('203.0.113.7');
    expect(codecs.votes.decode(message.value)).toEqual({ ok: true, value: vote });
  });

  it('refuses an invalid message with InvalidOutputError naming the role and the field, and keeps nothing', () => {
    const out = new Emitter(topics);
    out.emit('votes', vote.ip, vote);
    const bad = { ...vote, score: 2 };
    expect(() => out.emit('votes', vote.ip, bad)).toThrow(InvalidOutputError);
    expect(() => out.emit('votes', vote.ip, bad)).toThrow(
      /refused to publish an invalid votes message: .*\/score/,
    );
    expect(() => out.emit('votes', vote.ip, { ...vote, extra: true } as Vote)).toThrow(
      /additional properties 'extra'/,
    );
    expect(out.length).toBe(1);
  });

  it('allows tombstones only on compacted topics', () => {
    expect(encodeOutput(topics, 'decisions', '198.51.100.0/24', null)).toEqual({
      topic: 'unit.decisions.v1',
      key: '198.51.100.0/24',
      value: null,
    });
    expect(() => encodeOutput(topics, 'votes', vote.ip, null)).toThrow(InvalidOutputError);
  });

  it('truncates back to a mark and drains what it collected, once', () => {
    const out = new Emitter(topics);
    out.emit('votes', 'a', vote);
    const mark = out.length;
    out.emit('votes', 'b', vote);
    out.emit('votes', 'c', vote);
    out.truncate(mark);
    expect(out.drain().map((m) => m.key)).toEqual(['a']);
    expect(out.drain()).toEqual([]);
    expect(out.length).toBe(0);
  });
});
