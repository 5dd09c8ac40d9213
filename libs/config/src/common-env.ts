/** Environment variables shared by the services; each service adds its own. */
import { str, num, port } from 'envalid';
import { hostPortList } from './validators';

export const serviceEnv = {
  PORT: port({
    default: 8080,
    desc: 'HTTP port for the service API, /healthz, /readyz and /metrics',
  }),
  HOST: str({ default: '0.0.0.0', desc: 'address to listen on' }),
  LOG_LEVEL: str({
    default: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
  }),
};

export const kafkaEnv = {
  KAFKA_BROKERS: hostPortList({ desc: 'Kafka bootstrap brokers, comma-separated host:port' }),
  KAFKA_CLIENT_ID: str({ default: '', desc: 'client id; defaults to the service name' }),
  MOAT_TOPIC_PREFIX: str({
    default: 'moat',
    desc: 'prefix of every topic name (<prefix>.requests.v1 …)',
  }),
  MOAT_TOPIC_PARTITIONS: num({
    default: 6,
    desc: 'partitions of topics Moat creates when missing',
  }),
  MOAT_TOPIC_REPLICATION: num({ default: 1, desc: 'replication factor of topics Moat creates' }),
};

export const redisEnv = {
  REDIS_URL: str({ default: 'redis://127.0.0.1:6379', desc: 'Redis URL (redis://host:port/db)' }),
  MOAT_REDIS_PREFIX: str({ default: 'moat:', desc: 'prefix of every Redis key' }),
};
