/**
 * Every topic Moat uses: its base name, key, schema and retention policy. Services name topics
 * only through `topicNames(prefix)`, so a deployment can run several isolated pipelines on one
 * cluster by changing MOAT_TOPIC_PREFIX.
 */
export const TOPICS = {
  requests: { suffix: 'requests.v1', key: 'client IP', compacted: false },
  events: { suffix: 'events.v1', key: 'client IP', compacted: false },
  /** Internal to the sessionizer: credential-keyed requests re-keyed by session. */
  sessionRequests: { suffix: 'session-requests.v1', key: 'session key', compacted: false },
  votes: { suffix: 'votes.v1', key: 'subject IP', compacted: false },
  decisions: { suffix: 'decisions.v1', key: 'IP or CIDR; null value = lifted', compacted: true },
  config: { suffix: 'config.v1', key: 'config entry id; null value = deleted', compacted: true },
  dlq: { suffix: 'dlq.v1', key: 'original key', compacted: false },
} as const;

export type TopicRole = keyof typeof TOPICS;
export type TopicNames = Readonly<Record<TopicRole, string>>;

export const DEFAULT_TOPIC_PREFIX = 'moat';
const PREFIX_PATTERN = /^[a-zA-Z0-9._-]{1,100}$/;

export function topicNames(prefix: string = DEFAULT_TOPIC_PREFIX): TopicNames {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `Invalid topic prefix "${prefix}": use 1-100 characters of letters, digits, '.', '_' or '-'.`,
    );
  }
  const names = {} as Record<TopicRole, string>;
  for (const role of Object.keys(TOPICS) as TopicRole[]) {
    names[role] = `${prefix}.${TOPICS[role].suffix}`;
  }
  return names;
}

/** The role a concrete topic name plays, or undefined when it is not one of ours. */
export function topicRole(names: TopicNames, topic: string): TopicRole | undefined {
  return (Object.keys(names) as TopicRole[]).find((role) => names[role] === topic);
}
