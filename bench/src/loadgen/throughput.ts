/**
 * Closed-loop publish/subscribe throughput + latency scenarios
 * (fan-in, 1-to-1 pairs, fan-out; QoS 0 or 1).
 *
 * Flow control: publisher p may have at most `window` messages outstanding.
 * A message is complete when every subscriber that should get it received it
 * (and, for QoS 1, the broker PUBACKed it to the publisher). Completion is
 * tracked per publisher in a ring of counters indexed by sequence number.
 *
 * Loss detection: every (publisher, subscriber) stream expects strictly
 * increasing sequence numbers (MQTT keeps per-publisher order on a topic);
 * a gap counts the skipped messages as lost. A publisher without progress for
 * `stallMs` declares all its outstanding messages lost so a dropped tail
 * cannot stall the window forever. Whatever is still outstanding after the
 * drain period is lost too.
 *
 * Persistent subscribers (`persistentSubscribers`): subscribers connect with
 * Clean Session 0, so the broker must keep (and, if it is durable, store)
 * every message routed to them. After the run each subscriber reconnects
 * once with Clean Session 0 — Session Present = 1 proves the broker kept the
 * session — and once with Clean Session 1, which discards it, so no
 * persistent session outlives the scenario.
 */

import { performance } from "node:perf_hooks";
import { Histogram } from "../stats.ts";
import type { ThroughputResult, ThroughputScenario } from "../types.ts";
import { forEachLimit, openConn, type ConnHandler, type MqttConn } from "./conn.ts";
import {
  MIN_PAYLOAD,
  PAYLOAD_PUB_OFFSET,
  PAYLOAD_SEQ_OFFSET,
  PAYLOAD_TS_OFFSET,
  connectPacket,
  connectTemplate,
  publishTemplate,
  type PublishTemplate,
} from "./packets.ts";

const CONNECT_CONCURRENCY = 50;
const MAX_PACKET_ID = 65535;

interface Subscriber {
  conn: MqttConn;
  /** Next expected sequence number per publisher index. */
  expected: Float64Array;
}

interface Publisher {
  index: number;
  conn: MqttConn;
  tpl: PublishTemplate;
  /** Next sequence number to send. */
  nextSeq: number;
  /** Oldest sequence number not yet complete. */
  complete: number;
  /** Receipts per sequence number (ring of size window). */
  counts: Uint16Array;
  /** QoS 1: PUBACK received per sequence number (ring). */
  pubacked: Uint8Array;
  /** QoS 1: send time (performance.now() ms) per sequence number (ring), for the PUBACK latency. */
  sentAt: Float64Array;
  /** Subscribers that must receive this publisher's messages. */
  subs: Subscriber[];
  lastProgress: number;
}

export interface ThroughputHooks {
  onMeasureStart(): void;
  onMeasureEnd(): void;
}

export async function runThroughput(
  host: string,
  port: number,
  tag: string,
  sc: ThroughputScenario,
  hooks: ThroughputHooks,
): Promise<ThroughputResult> {
  const run = new ThroughputRun(sc);
  let result: ThroughputResult | undefined;
  try {
    await run.connect(host, port, tag);
    result = await run.execute(hooks);
  } finally {
    run.closeAll();
    if (sc.persistentSubscribers) {
      // Also after a failed run: persistent sessions must not outlive the scenario.
      const check = await checkAndRemoveSessions(host, port, tag, sc.subscribers);
      if (result) result.sessionCheck = check;
    }
  }
  return result;
}

function subscriberPrefix(tag: string): string {
  return `${tag}s`;
}

/**
 * Reconnect every subscriber once with Clean Session 0 (Session Present must
 * be 1: the broker kept the session) and once with Clean Session 1 (discards
 * it), each followed by DISCONNECT.
 */
async function checkAndRemoveSessions(
  host: string,
  port: number,
  tag: string,
  subscribers: number,
): Promise<NonNullable<ThroughputResult["sessionCheck"]>> {
  const resume = connectTemplate(subscriberPrefix(tag), 7, false);
  const clean = connectTemplate(subscriberPrefix(tag), 7, true);
  let present = 0;
  let removed = 0;
  const errors: string[] = [];
  await forEachLimit(subscribers, CONNECT_CONCURRENCY, async (i) => {
    try {
      const a = await openConn(host, port, connectPacket(resume, i));
      if (a.sessionPresent) present++;
      await a.disconnect();
      const b = await openConn(host, port, connectPacket(clean, i));
      await b.disconnect();
      removed++;
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  });
  return {
    subscribers,
    present,
    removed,
    ...(errors.length > 0 ? { error: `${errors.length} failed, first: ${errors[0]}` } : {}),
  };
}

class ThroughputRun {
  private readonly W: number;
  /** Receipts needed for a message to be complete. */
  private readonly need: number;
  /** Refill a publisher only when at least this many window slots are free (batching). */
  private readonly refillAt: number;

  private subs: Subscriber[] = [];
  private pubs: Publisher[] = [];

  private sending = false;
  private measuring = false;
  private pumpScheduled = false;

  private readonly hist = new Histogram();
  private readonly pubackHist = new Histogram();
  private delivered = 0;
  private publishedInWindow = 0;
  private publishedTotal = 0;
  private lost = 0;
  private late = 0;
  private missingPubacks = 0;
  private disconnects = 0;
  private unexpected = 0;

  constructor(private readonly sc: ThroughputScenario) {
    this.W = sc.window;
    if (this.W < 1 || this.W > 30_000) throw new Error(`window must be 1..30000, got ${this.W}`);
    const subsPerPub = sc.topology === "fanout" ? sc.subscribers : 1;
    this.need = subsPerPub + (sc.qos === 1 ? 1 : 0);
    this.refillAt = Math.max(1, Math.floor(this.W / 4));
  }

  // ---- setup -------------------------------------------------------------

  async connect(host: string, port: number, tag: string): Promise<void> {
    const { sc } = this;
    const subTpl = connectTemplate(subscriberPrefix(tag), 7, !sc.persistentSubscribers);
    const pubTpl = connectTemplate(`${tag}p`);
    const subHandler: ConnHandler = {
      onPublish: (c, b0, buf, body, end) => this.onPublish(c, b0, buf, body, end),
      onClose: () => this.disconnects++,
    };
    const pubHandler: ConnHandler = {
      onPuback: (c, id) => this.onPuback(c, id),
      onClose: () => this.disconnects++,
    };

    const subs: (Subscriber | undefined)[] = new Array(sc.subscribers);
    await forEachLimit(sc.subscribers, CONNECT_CONCURRENCY, async (i) => {
      const conn = await openConn(host, port, connectPacket(subTpl, i), subHandler);
      conn.index = i;
      subs[i] = { conn, expected: new Float64Array(sc.publishers) };
      const pre = sc.topicPrefix;
      const filter =
        sc.topology === "fanin" ? `${pre}/fanin/#` : sc.topology === "pairs" ? `${pre}/pair/${i}` : `${pre}/fanout`;
      await conn.subscribe(filter, sc.qos);
    });
    this.subs = subs.map((s) => s!);

    const pubs: (Publisher | undefined)[] = new Array(sc.publishers);
    await forEachLimit(sc.publishers, CONNECT_CONCURRENCY, async (i) => {
      const conn = await openConn(host, port, connectPacket(pubTpl, i), pubHandler);
      conn.index = i;
      const pre = sc.topicPrefix;
      const topic =
        sc.topology === "fanin" ? `${pre}/fanin/${i}` : sc.topology === "pairs" ? `${pre}/pair/${i}` : `${pre}/fanout`;
      const targets =
        sc.topology === "fanin" ? [this.subs[0]!] : sc.topology === "pairs" ? [this.subs[i]!] : this.subs;
      pubs[i] = {
        index: i,
        conn,
        tpl: publishTemplate(topic, sc.qos, sc.payloadSize),
        nextSeq: 0,
        complete: 0,
        counts: new Uint16Array(this.W),
        pubacked: new Uint8Array(this.W),
        sentAt: new Float64Array(this.W),
        subs: targets,
        lastProgress: 0,
      };
    });
    this.pubs = pubs.map((p) => p!);
  }

  closeAll(): void {
    this.sending = false;
    for (const s of this.subs) s.conn.destroy();
    for (const p of this.pubs) p.conn.destroy();
  }

  // ---- main loop -----------------------------------------------------------

  async execute(hooks: ThroughputHooks): Promise<ThroughputResult> {
    const { sc } = this;
    const stallTimer = setInterval(() => this.checkStalls(), Math.min(250, sc.stallMs / 2));
    try {
      this.sending = true;
      const now = performance.now();
      for (const p of this.pubs) p.lastProgress = now;
      this.pump();

      await sleep(sc.warmupMs);
      this.hist.reset();
      this.pubackHist.reset();
      this.delivered = 0;
      this.publishedInWindow = 0;
      this.measuring = true;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      hooks.onMeasureStart();

      await sleep(sc.measureMs);
      this.measuring = false;
      const measuredMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      hooks.onMeasureEnd();
      const delivered = this.delivered;
      const publishedInWindow = this.publishedInWindow;
      const latency = this.hist.summary();
      const pubackLatency = sc.qos === 1 ? this.pubackHist.summary() : null;

      // Stop publishing and let in-flight messages arrive.
      this.sending = false;
      const drainUntil = performance.now() + sc.drainMs;
      while (performance.now() < drainUntil && this.outstanding() > 0) await sleep(10);
      this.settleLeftovers();

      return {
        kind: "throughput",
        delivered,
        measuredMs,
        msgsPerSec: (delivered / measuredMs) * 1000,
        publishedInWindow,
        publishedTotal: this.publishedTotal,
        lost: this.lost,
        late: this.late,
        missingPubacks: this.missingPubacks,
        disconnects: this.disconnects,
        unexpected: this.unexpected,
        latency,
        pubackLatency,
        generatorCpuPct: ((cpu.user + cpu.system) / 1000 / measuredMs) * 100,
        sessionCheck: null,
      };
    } finally {
      clearInterval(stallTimer);
    }
  }

  private outstanding(): number {
    let n = 0;
    for (const p of this.pubs) n += p.nextSeq - p.complete;
    return n;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || !this.sending) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Top up every publisher's window with one batched write per socket. */
  private pump(): void {
    if (!this.sending) return;
    const ts = performance.now();
    for (const p of this.pubs) {
      const free = this.W - (p.nextSeq - p.complete);
      if (free < this.refillAt || p.conn.closed) continue;
      if (p.nextSeq === p.complete) p.lastProgress = ts;
      this.sendBatch(p, free, ts);
    }
  }

  private sendBatch(p: Publisher, k: number, ts: number): void {
    const { bytes, payloadOffset, packetIdOffset } = p.tpl;
    const { sentAt } = p;
    const W = this.W;
    const len = bytes.length;
    const out = Buffer.allocUnsafe(k * len);
    let seq = p.nextSeq;
    for (let j = 0, off = 0; j < k; j++, off += len, seq++) {
      bytes.copy(out, off);
      const pl = off + payloadOffset;
      out.writeDoubleLE(ts, pl + PAYLOAD_TS_OFFSET);
      out.writeUInt32LE(p.index, pl + PAYLOAD_PUB_OFFSET);
      out.writeUInt32LE(seq >>> 0, pl + PAYLOAD_SEQ_OFFSET);
      if (packetIdOffset >= 0) {
        out.writeUInt16BE((seq % MAX_PACKET_ID) + 1, off + packetIdOffset);
        sentAt[seq % W] = ts;
      }
    }
    p.nextSeq = seq;
    this.publishedTotal += k;
    if (this.measuring) this.publishedInWindow += k;
    p.conn.socket.write(out);
  }

  // ---- receive path --------------------------------------------------------

  private onPublish(conn: MqttConn, b0: number, buf: Buffer, body: number, end: number): void {
    const qos = (b0 >> 1) & 3;
    let pos = body + 2 + buf.readUInt16BE(body);
    if (qos > 0) {
      conn.queuePuback(buf.readUInt16BE(pos));
      pos += 2;
    }
    if (end - pos < MIN_PAYLOAD) {
      this.unexpected++;
      return;
    }
    const ts = buf.readDoubleLE(pos + PAYLOAD_TS_OFFSET);
    const pubIdx = buf.readUInt32LE(pos + PAYLOAD_PUB_OFFSET);
    const seq = buf.readUInt32LE(pos + PAYLOAD_SEQ_OFFSET);
    if (this.measuring) {
      this.delivered++;
      this.hist.recordMs(conn.rxTime - ts);
    }
    const sub = this.subs[conn.index];
    const pub = this.pubs[pubIdx];
    if (sub === undefined || pub === undefined) {
      this.unexpected++;
      return;
    }
    const expected = sub.expected[pubIdx]!;
    if (seq < expected) {
      this.late++;
      return;
    }
    if (seq > expected) {
      this.lost += seq - expected;
      for (let q = expected; q < seq; q++) this.credit(pub, q, conn.rxTime);
    }
    sub.expected[pubIdx] = seq + 1;
    this.credit(pub, seq, conn.rxTime);
  }

  private onPuback(conn: MqttConn, packetId: number): void {
    const p = this.pubs[conn.index];
    if (p === undefined) return;
    const base = p.complete;
    const seq = base + ((packetId - 1 - (base % MAX_PACKET_ID) + MAX_PACKET_ID) % MAX_PACKET_ID);
    if (seq >= p.nextSeq) return; // unknown / stale packet id
    const slot = seq % this.W;
    if (p.pubacked[slot] === 1) return; // duplicate
    p.pubacked[slot] = 1;
    if (this.measuring) this.pubackHist.recordMs(conn.rxTime - p.sentAt[slot]!);
    this.credit(p, seq, conn.rxTime);
  }

  private credit(p: Publisher, seq: number, now: number): void {
    if (seq < p.complete) return; // already written off by a stall timeout
    const slot = seq % this.W;
    p.counts[slot]! += 1;
    if (seq !== p.complete) return;
    const { counts, pubacked } = p;
    while (p.complete < p.nextSeq) {
      const s = p.complete % this.W;
      if (counts[s]! < this.need) break;
      counts[s] = 0;
      pubacked[s] = 0;
      p.complete++;
    }
    p.lastProgress = now;
    if (this.W - (p.nextSeq - p.complete) >= this.refillAt) this.schedulePump();
  }

  // ---- loss bookkeeping ----------------------------------------------------

  private checkStalls(): void {
    const now = performance.now();
    for (const p of this.pubs) {
      if (p.complete < p.nextSeq && now - p.lastProgress > this.sc.stallMs) {
        this.writeOff(p);
        p.lastProgress = now;
        this.schedulePump();
      }
    }
  }

  /** Declare everything the publisher still has outstanding as lost. */
  private writeOff(p: Publisher): void {
    for (const s of p.subs) {
      const e = s.expected[p.index]!;
      if (e < p.nextSeq) {
        this.lost += p.nextSeq - e;
        s.expected[p.index] = p.nextSeq;
      }
    }
    for (let seq = p.complete; seq < p.nextSeq; seq++) {
      const slot = seq % this.W;
      if (this.sc.qos === 1 && p.pubacked[slot] === 0) this.missingPubacks++;
      p.counts[slot] = 0;
      p.pubacked[slot] = 0;
    }
    p.complete = p.nextSeq;
  }

  private settleLeftovers(): void {
    for (const p of this.pubs) if (p.complete < p.nextSeq) this.writeOff(p);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
