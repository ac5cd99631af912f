export { Broker, type InternalSubscribeOptions, type InternalSubscription, type SharedGroup } from "./broker.ts";
export { Channel } from "./channel.ts";
export type { BrokerHooks, ClientInfo, ClientLimits, AuthenticateRequest, AuthenticateResult, DropReason } from "./hooks.ts";
export { allowAllHooks } from "./hooks.ts";
export type { Message, MessageProperties, QoS } from "./message.ts";
export { messageFromPublish } from "./message.ts";
export { checkRuntimeOptions, defaultBrokerOptions, RUNTIME_OPTIONS, type BrokerOptions, type QueueOverflowPolicy, type RuntimeOptions } from "./options.ts";
export { ReasonCode } from "./reason-codes.ts";
export { MemoryRetainedStore, type RetainedStore } from "./retained-store.ts";
export {
  MemorySessionStore,
  emptyState,
  toStoredMessage,
  type SessionStore,
  type SessionRecord,
  type SubscriptionRecord,
  type DeliveryRecord,
  type WillRecord,
  type StoredMessage,
  type StoredState,
} from "./session-store.ts";
export { Session, type Subscription, type Delivery } from "./session.ts";
export { BrokerStats } from "./stats.ts";
export { TopicTrie } from "./topic-trie.ts";
export { isValidTopicFilter, isValidTopicName, parseSharedFilter } from "./topic.ts";
