import type { DropReason } from "./hooks.ts";

/** Broker-wide counters; cheap increments on the hot path, read by metrics and $SYS. */
export class BrokerStats {
  connections = 0;
  connectionsTotal = 0;
  connectionsRefused = 0;
  authorizationDenials = 0;
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  subscriptions = 0;
  malformedPackets = 0;
  /** Store batches that failed to become durable. */
  storeErrors = 0;
  readonly drops: Record<DropReason, number> = {
    "queue-full": 0,
    expired: 0,
    "too-large": 0,
    "slow-consumer": 0,
    "qos0-offline": 0,
    "no-subscribers": 0,
    "store-full": 0,
    "not-authorized": 0,
  };

  countDrop(reason: DropReason): void {
    this.drops[reason]++;
  }
}
