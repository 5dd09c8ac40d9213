import { topicNames, type Vote } from '@moat/contracts';
import { CollectingEmitter, EventClock } from './collecting-emitter';

const vote: Vote = {
  v: 1,
  id: 'request-rate:r1',
  detector: 'request-rate',
  ts: 1,
  app: 'a',
  ip: '192.0.2.1',
  verdict: 'bot',
  score: 1,
  evidence: [],
  eventId: 'r1',
};

describe('CollectingEmitter', () => {
  it('keeps valid outputs as values with the context they were emitted in', () => {
    const out = new CollectingEmitter(topicNames('t'));
    out.context = 'first';
    out.emit('votes', vote.ip, vote);
    out.context = undefined;
    out.emit('decisions', '192.0.2.1', null);
    expect(out.length).toBe(2);
    expect(out.take()).toEqual([
      { role: 'votes', key: '192.0.2.1', value: vote, context: 'first' },
      { role: 'decisions', key: '192.0.2.1', value: null, context: undefined },
    ]);
    expect(out.length).toBe(0);
  });

  it('refuses what the bus would refuse, and undoes partial outputs on truncate', () => {
    const out = new CollectingEmitter(topicNames('t'));
    expect(() => out.emit('votes', 'x', { ...vote, score: 2 })).toThrow(
      /refused to publish an invalid votes message: .*\/score must be <= 1/,
    );
    expect(() => out.emit('votes', 'x', null)).toThrow(/empty value on non-compacted topic/);
    out.emit('votes', 'x', vote);
    out.emit('votes', 'x', vote);
    out.truncate(1);
    expect(out.take()).toHaveLength(1);
    expect(() => out.drain()).toThrow(/use take\(\)/);
  });
});

describe('EventClock', () => {
  it('only moves forward', () => {
    const clock = new EventClock();
    clock.advance(10);
    clock.advance(5);
    expect(clock.now).toBe(10);
    expect(clock.read()).toBe(10);
  });
});
