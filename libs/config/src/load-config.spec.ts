import { kafkaEnv, parseConfig, ConfigError, cidrList, duration, str } from './index';

describe('parseConfig', () => {
  it('parses valid values and applies defaults', () => {
    const cfg = parseConfig(kafkaEnv, { KAFKA_BROKERS: '127.0.0.1:9092, kafka-1:9093' });
    expect(cfg.KAFKA_BROKERS).toEqual(['127.0.0.1:9092', 'kafka-1:9093']);
    expect(cfg.MOAT_TOPIC_PREFIX).toBe('moat');
  });

  it('names a missing variable in one line', () => {
    try {
      parseConfig(kafkaEnv, {});
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^Configuration error: KAFKA_BROKERS is required but not set/);
      expect(problems[0]).not.toContain('\n');
    }
  });

  it('names an invalid variable with the value and what is expected', () => {
    expect(() => parseConfig(kafkaEnv, { KAFKA_BROKERS: 'localhost' })).toThrow(
      /KAFKA_BROKERS="localhost" is invalid: "localhost" is not host:port/,
    );
  });

  it('validates CIDR lists and durations', () => {
    const specs = { PROXIES: cidrList(), GAP: duration(), NAME: str({ default: 'x' }) };
    const cfg = parseConfig(specs, { PROXIES: '10.0.0.0/8,::1', GAP: '30m' });
    expect(cfg.PROXIES).toEqual(['10.0.0.0/8', '::1']);
    expect(cfg.GAP).toBe(1_800_000);
    expect(() => parseConfig(specs, { PROXIES: '10.0.0.0/99', GAP: '1h' })).toThrow(/PROXIES/);
    expect(() => parseConfig(specs, { PROXIES: '::1', GAP: 'soon' })).toThrow(/GAP="soon"/);
  });
});
