import type { Session } from "./session.ts";

/**
 * Where sessions live between connections. The engine holds live Session
 * objects; a durable implementation mirrors them to disk.
 */
export interface SessionStore {
  get(key: string): Session | undefined;
  set(session: Session): void;
  delete(key: string): void;
  values(): IterableIterator<Session>;
  readonly size: number;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();

  get(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  set(session: Session): void {
    this.sessions.set(session.key, session);
  }

  delete(key: string): void {
    this.sessions.delete(key);
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }
}
