import { describe, expect, it } from "vitest";
import { ExpirySchedule, type ScheduleClock } from "./expiry-schedule.ts";

/**
 * The one-timer expiry schedule against a fake clock that behaves like
 * Node's timers (including firing a delay above 2^31-1 ms after 1 ms), so
 * days can pass in a test and every wake-up is observable; plus one run on
 * the real clock.
 */

const TIMER_MAX = 2 ** 31 - 1;
const DAY = 24 * 3600 * 1000;

class FakeClock implements ScheduleClock {
  private t = 1_700_000_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  /** Every delay the schedule asked for. */
  readonly delays: number[] = [];
  wakeups = 0;

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    // Node: a delay above 2^31-1 (or below 1) becomes 1 ms.
    const delay = ms > TIMER_MAX || ms < 1 ? 1 : ms;
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + delay, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time forward, running timers in order at their time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      this.wakeups++;
      next[1].fn();
    }
    this.t = end;
  }
  /** A wall-clock step: time moves, no timer runs. */
  jump(ms: number): void {
    this.t += ms;
  }
}

function setup(maxSleepMs?: number) {
  const clock = new FakeClock();
  const fired: { key: string; at: number; firedAt: number }[] = [];
  const schedule = new ExpirySchedule<string>((key, at) => fired.push({ key, at, firedAt: clock.now() }), { clock, ...(maxSleepMs !== undefined ? { maxSleepMs } : {}) });
  return { clock, fired, schedule };
}

describe("ExpirySchedule", () => {
  it("fires 10,000 entries once each, in deadline order, at their deadline, with one timer", () => {
    const { clock, fired, schedule } = setup();
    const start = clock.now();
    const deadlines = new Map<string, number>();
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 10_000; i++) {
      const at = start + Math.floor(random() * 3_600_000);
      deadlines.set(`c${i}`, at);
      schedule.set(`c${i}`, at);
      expect(clock.pending).toBeLessThanOrEqual(1);
    }
    expect(schedule.size).toBe(10_000);
    for (let step = 0; step < 60; step++) {
      clock.advance(60_000);
      expect(clock.pending).toBeLessThanOrEqual(1);
    }
    expect(fired).toHaveLength(10_000);
    expect(new Set(fired.map((f) => f.key)).size).toBe(10_000);
    for (const f of fired) {
      expect(f.at).toBe(deadlines.get(f.key));
      expect(f.firedAt).toBeGreaterThanOrEqual(f.at);
      // The timer waits for the earliest deadline exactly: a due entry fires at its time.
      expect(f.firedAt - f.at).toBe(0);
    }
    for (let i = 1; i < fired.length; i++) expect(fired[i]!.at).toBeGreaterThanOrEqual(fired[i - 1]!.at);
    expect(schedule.size).toBe(0);
    expect(clock.pending).toBe(0);
    // An hour of deadlines cost at most one wake-up per second (plus one per distinct deadline).
    expect(clock.wakeups).toBeLessThanOrEqual(3600 + 10_000);
  });

  it("a deleted entry never fires, and deleting the last one stops the timer", () => {
    const { clock, fired, schedule } = setup();
    schedule.set("a", clock.now() + 500);
    schedule.set("b", clock.now() + 1500);
    schedule.set("c", clock.now() + 2500);
    expect(schedule.delete("b")).toBe(true);
    expect(schedule.delete("b")).toBe(false);
    expect(schedule.get("b")).toBeUndefined();
    clock.advance(3000);
    expect(fired.map((f) => f.key)).toEqual(["a", "c"]);
    schedule.set("d", clock.now() + 10_000);
    expect(clock.pending).toBe(1);
    schedule.delete("d");
    expect(clock.pending).toBe(0);
    clock.advance(20_000);
    expect(fired.map((f) => f.key)).toEqual(["a", "c"]);
  });

  it("re-arming moves an entry later (extends) or sooner (shortens); the old deadline no longer counts", () => {
    const { clock, fired, schedule } = setup();
    const t0 = clock.now();
    schedule.set("later", t0 + 2000);
    schedule.set("sooner", t0 + 60_000);
    clock.advance(1000);
    schedule.set("later", t0 + 30_000);
    schedule.set("sooner", t0 + 1500);
    expect(schedule.get("later")).toBe(t0 + 30_000);
    clock.advance(1000);
    expect(fired).toEqual([{ key: "sooner", at: t0 + 1500, firedAt: t0 + 1500 }]);
    clock.advance(27_999);
    expect(fired).toHaveLength(1);
    clock.advance(1);
    expect(fired[1]).toEqual({ key: "later", at: t0 + 30_000, firedAt: t0 + 30_000 });
    // Setting the same deadline again is a no-op, not a second entry.
    schedule.set("x", t0 + 40_000);
    schedule.set("x", t0 + 40_000);
    clock.advance(20_000);
    expect(fired.filter((f) => f.key === "x")).toHaveLength(1);
  });

  it("a deadline more than 24.8 days away (beyond setTimeout's 2^31-1 ms) fires on its day, not early", () => {
    // The widest wait allowed, so the test crosses setTimeout's limit in a few wake-ups.
    const { clock, fired, schedule } = setup(2 ** 40);
    const at = clock.now() + 30 * DAY;
    schedule.set("far", at);
    schedule.set("farther", clock.now() + 400 * DAY);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(TIMER_MAX);
    clock.advance(29 * DAY);
    expect(fired).toHaveLength(0);
    clock.advance(DAY - 1);
    expect(fired).toHaveLength(0);
    clock.advance(1);
    expect(fired).toEqual([{ key: "far", at, firedAt: at }]);
    clock.advance(370 * DAY);
    expect(fired.map((f) => f.key)).toEqual(["far", "farther"]);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(TIMER_MAX);
    expect(clock.wakeups).toBeLessThan(30);
  });

  it("with the default one-second wait, a wall-clock step forward is noticed within a second", () => {
    const { clock, fired, schedule } = setup();
    const at = clock.now() + 3 * DAY;
    schedule.set("k", at);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(1000);
    clock.jump(3 * DAY + 10);
    clock.advance(1000);
    expect(fired).toHaveLength(1);
    expect(fired[0]!.firedAt - at).toBeLessThanOrEqual(1010);
  });

  it("a callback may schedule its key again, and one that throws does not stop the others", () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    const schedule: ExpirySchedule<string> = new ExpirySchedule<string>(
      (key) => {
        seen.push(key);
        if (key === "bad") throw new Error("boom");
        if (key === "again" && seen.filter((k) => k === "again").length === 1) schedule.set("again", clock.now() + 1000);
      },
      { clock },
    );
    schedule.set("bad", clock.now() + 100);
    schedule.set("again", clock.now() + 100);
    schedule.set("good", clock.now() + 100);
    clock.advance(100);
    expect(seen.sort()).toEqual(["again", "bad", "good"]);
    expect(schedule.get("again")).toBe(clock.now() + 1000);
    clock.advance(1000);
    expect(seen.filter((k) => k === "again")).toHaveLength(2);
    expect(schedule.size).toBe(0);
  });

  it("replacing and deleting entries over and over does not grow the heap without bound", () => {
    const { clock, schedule } = setup();
    for (let i = 0; i < 100_000; i++) schedule.set(`k${i % 100}`, clock.now() + 10_000 + i);
    expect(schedule.size).toBe(100);
    expect(schedule.heapSize).toBeLessThanOrEqual(2 * 100 + 64 + 1);
    for (let i = 0; i < 100; i++) schedule.delete(`k${i}`);
    expect(schedule.size).toBe(0);
    expect(schedule.heapSize).toBeLessThanOrEqual(64 + 1);
  });

  it("on the real clock: fires close to the deadline, and a 25-day deadline does not fire early", async () => {
    const fired: { key: string; late: number }[] = [];
    const schedule = new ExpirySchedule<string>((key, at) => fired.push({ key, late: Date.now() - at }));
    schedule.set("far", Date.now() + 25 * DAY);
    schedule.set("soon", Date.now() + 150);
    await new Promise((r) => setTimeout(r, 400));
    expect(fired.map((f) => f.key)).toEqual(["soon"]);
    expect(fired[0]!.late).toBeGreaterThanOrEqual(0);
    expect(fired[0]!.late).toBeLessThan(100);
    expect(schedule.get("far")).toBeGreaterThan(Date.now() + 24 * DAY);
    schedule.close();
    expect(schedule.size).toBe(0);
  });
});
