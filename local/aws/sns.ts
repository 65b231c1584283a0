import { notifyAll } from './common.js';

/** A message a topic received: what its e-mail subscribers would read. */
export interface TopicMessage {
  topicArn: string;
  message: string;
  /** The rule (or other publisher) that sent it. */
  from: string;
  at: Date;
}

export type TopicMessageListener = (message: TopicMessage) => void;

/**
 * A recording stand-in for the SNS topics of the template: the local bus publishes to it what the
 * notification rules would send, so that tests read the message and `npm start` shows it. It
 * takes only the topics the template has.
 */
export interface LocalSns {
  publish(topicArn: string, message: string, from: string): void;
  messages(): TopicMessage[];
  onMessage(listener: TopicMessageListener): () => void;
}

export class UnknownTopicError extends Error {
  override name = 'UnknownTopicError';
}

export function createLocalSns(topicArns: string[]): LocalSns {
  const recorded: TopicMessage[] = [];
  const listeners = new Set<TopicMessageListener>();
  return {
    publish(topicArn, message, from) {
      if (!topicArns.includes(topicArn)) throw new UnknownTopicError(`no topic ${topicArn}`);
      const entry = { topicArn, message, from, at: new Date() };
      recorded.push(entry);
      notifyAll(listeners, entry);
    },
    messages: () => recorded.map((message) => ({ ...message })),
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
