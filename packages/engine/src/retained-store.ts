import type { Message } from "./message.ts";

/**
 * Retained messages by topic [MQTT-3.3.1-5]. `match` is the reverse of the
 * subscription trie: given a filter, find stored topic names it matches.
 */
export interface RetainedStore {
  /** Stores the message, or clears the topic when message is null [MQTT-3.3.1-6]. */
  set(topic: string, message: Message | null): void;
  get(topic: string): Message | undefined;
  /** Retained messages whose topic matches the (routed) filter. */
  match(filter: string): Message[];
  readonly size: number;
  /** Durable implementations read their contents here, once, before use. */
  load?(): Promise<void>;
  close?(): Promise<void>;
}

interface RetainNode {
  children: Map<string, RetainNode> | undefined;
  message: Message | undefined;
}

/**
 * In-memory retained store: a tree with one node per topic level, so a filter
 * visits only the branches it can match. `+` and `#` at the first level skip
 * topics starting with `$` [MQTT-4.7.2-1].
 */
export class MemoryRetainedStore implements RetainedStore {
  private readonly root: RetainNode = { children: undefined, message: undefined };
  private count = 0;

  get size(): number {
    return this.count;
  }

  set(topic: string, message: Message | null): void {
    const levels = topic.split("/");
    if (message === null) {
      this.remove(this.root, levels, 0);
      return;
    }
    let node = this.root;
    for (const level of levels) {
      node.children ??= new Map();
      let child = node.children.get(level);
      if (!child) {
        child = { children: undefined, message: undefined };
        node.children.set(level, child);
      }
      node = child;
    }
    if (!node.message) this.count++;
    node.message = message;
  }

  get(topic: string): Message | undefined {
    let node: RetainNode | undefined = this.root;
    for (const level of topic.split("/")) {
      node = node.children?.get(level);
      if (!node) return undefined;
    }
    return node.message;
  }

  match(filter: string): Message[] {
    const out: Message[] = [];
    this.collect(this.root, filter.split("/"), 0, out);
    return out;
  }

  private collect(node: RetainNode, levels: string[], depth: number, out: Message[]): void {
    if (depth === levels.length) {
      if (node.message) out.push(node.message);
      return;
    }
    const level = levels[depth] as string;
    if (level === "#") {
      // `#` includes the parent level itself [MQTT-4.7.1-2].
      if (node.message && depth > 0) out.push(node.message);
      this.collectAll(node, depth === 0, out);
      return;
    }
    if (!node.children) return;
    if (level === "+") {
      for (const [name, child] of node.children) {
        if (depth === 0 && name.startsWith("$")) continue;
        this.collect(child, levels, depth + 1, out);
      }
      return;
    }
    const child = node.children.get(level);
    if (child) this.collect(child, levels, depth + 1, out);
  }

  private collectAll(node: RetainNode, skipDollar: boolean, out: Message[]): void {
    if (!node.children) return;
    for (const [name, child] of node.children) {
      if (skipDollar && name.startsWith("$")) continue;
      if (child.message) out.push(child.message);
      this.collectAll(child, false, out);
    }
  }

  private remove(node: RetainNode, levels: string[], depth: number): boolean {
    if (depth === levels.length) {
      if (node.message) {
        node.message = undefined;
        this.count--;
      }
    } else {
      const level = levels[depth] as string;
      const child = node.children?.get(level);
      if (child && this.remove(child, levels, depth + 1)) node.children?.delete(level);
    }
    return !node.message && (!node.children || node.children.size === 0);
  }
}
