import mqtt, { type IClientOptions, type ISubscriptionGrant, type MqttClient } from "mqtt";
import { ackTopic, commandTopic, CONTROLLED_ZONE, statusTopic, TENANT, type DeviceSpec, type FactoryPlan, type MachineSpec, type SensorSpec } from "./factory.ts";
import type { DeviceLogin } from "./provision.ts";

/**
 * The simulated shop floor: every device is its own MQTT.js client logging
 * in with its own credential, exactly as real devices would.
 *
 * - A small physical model per machine (speed, temperature, vibration,
 *   power) evolves once per second; bearing faults appear now and then and
 *   make vibration climb.
 * - Sensors publish their reading every second, retained (a new subscriber
 *   sees the last value at once), as JSON with unit and timestamp.
 * - The line controller subscribes to `factory/zone1/#`; when a machine
 *   vibrates above the threshold it sends `reduce-speed` to the machine's
 *   command topic at QoS 2 (exactly once matters for commands).
 * - The command gateway, subscribed at QoS 2 to every machine's command
 *   topic, applies the command to the model (the machine slows down, the
 *   fault is cleared) and acknowledges at QoS 2.
 * - Every device announces itself on `factory/status/<clientid>` (retained
 *   "online"), with a will that says "offline" if it drops.
 */

export interface SimulationOptions {
  mqttUrl: string;
  plan: FactoryPlan;
  logins: Map<string, DeviceLogin>;
  /** Asked for a fresh password when the broker refuses a stored one. */
  rotate?: (clientId: string) => Promise<DeviceLogin>;
  log?: (line: string) => void;
  /** mm/s RMS above which the controller slows a machine down (ISO 10816 "unsatisfactory" for medium machines). */
  vibrationThreshold?: number;
  /** Between two readings of one sensor. */
  intervalMs?: number;
}

export interface SimulationCounters {
  readings: number;
  commands: number;
  commandsDelivered: number;
  acks: number;
}

const COMMAND_COOLDOWN_MS = 15_000;
/** How long a slowed-down machine stays slow before ramping back up. */
const SLOW_MS = 20_000;
/** An uncommanded fault (zone2 has no controller) is fixed by "maintenance" after this. */
const MAINTENANCE_MS = 40_000;
/** Chance per machine per second that a bearing fault starts. */
const FAULT_CHANCE = 1 / 150;

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const noise = (amplitude: number) => (Math.random() * 2 - 1) * amplitude;
const between = (a: number, b: number) => a + Math.random() * (b - a);

/** One machine's physics, coarse but plausible. */
class MachineModel {
  speed = 1;
  fault = 0;
  faultSince: number | undefined;
  slowUntil = 0;
  energyKWh = round(between(1_000, 9_000), 3);
  private readonly baseTemp = between(56, 64);
  private readonly baseVibration = between(1.6, 2.6);
  private readonly ratedPower = between(9, 22);

  constructor(readonly spec: MachineSpec) {}

  startFault(now: number): void {
    if (this.faultSince !== undefined) return;
    this.faultSince = now;
    // A developing fault shows at once as a clear jump, then keeps growing.
    this.fault = Math.max(this.fault, 2.5);
  }

  step(now: number, dt: number): void {
    if (this.faultSince === undefined && Math.random() < FAULT_CHANCE * dt) this.startFault(now);
    if (this.faultSince !== undefined && now - this.faultSince > MAINTENANCE_MS) this.faultSince = undefined;
    this.fault = this.faultSince !== undefined ? Math.min(9, this.fault + 0.4 * dt) : Math.max(0, this.fault - 1.5 * dt);
    if (now > this.slowUntil) this.speed = Math.min(1, this.speed + 0.03 * dt);
    this.energyKWh += (this.power() * dt) / 3600;
  }

  apply(command: string, now: number): boolean {
    if (command !== "reduce-speed") return false;
    this.speed = 0.6;
    this.slowUntil = now + SLOW_MS;
    this.faultSince = undefined;
    return true;
  }

  temperature(): number {
    return round(this.baseTemp + 10 * (this.speed - 0.6) + this.fault * 1.1 + noise(0.3), 2);
  }

  vibration(): number {
    return round(Math.max(0.1, this.baseVibration * this.speed + this.fault * this.speed + noise(0.15)), 2);
  }

  power(): number {
    return round(this.ratedPower * (0.35 + 0.65 * this.speed) + noise(0.2), 2);
  }
}

interface Device {
  spec: DeviceSpec;
  client: MqttClient;
}

export class FactorySimulation {
  readonly counters: SimulationCounters = { readings: 0, commands: 0, commandsDelivered: 0, acks: 0 };
  private readonly machines = new Map<string, MachineModel>();
  private readonly devices: Device[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly lastCommand = new Map<string, number>();
  private readonly pending = new Map<string, { machine: string; sentAt: number }>();
  private readonly log: (line: string) => void;
  private readonly threshold: number;
  private readonly intervalMs: number;
  private stopped = false;
  private brokerLost = false;
  private commandSeq = 0;

  constructor(private readonly opts: SimulationOptions) {
    this.log = opts.log ?? (() => {});
    this.threshold = opts.vibrationThreshold ?? 4.5;
    this.intervalMs = opts.intervalMs ?? 1000;
    for (const m of opts.plan.machines) this.machines.set(m.key, new MachineModel(m));
  }

  get connected(): number {
    return this.devices.filter((d) => d.client.connected).length;
  }

  get total(): number {
    return this.opts.plan.devices.length;
  }

  /** Connects every device (a few at a time), then starts the clock. */
  async start(): Promise<void> {
    const { plan } = this.opts;
    // Consumers first, so the first commands find their receivers.
    await this.connectDevice(plan.gateway, (client) => this.runGateway(client));
    await this.connectDevice(plan.controller, (client) => this.runController(client));
    const queue = [...plan.sensors];
    const worker = async () => {
      for (let s = queue.shift(); s && !this.stopped; s = queue.shift()) await this.connectDevice(s, (client) => this.runSensor(s, client));
    };
    await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
    if (this.stopped) return;

    const started = Date.now();
    let last = started;
    let scripted = false;
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        const dt = (now - last) / 1000;
        last = now;
        // A first incident soon after start, so the demo shows the control loop right away.
        if (!scripted && now - started >= 2000) {
          scripted = true;
          const first = plan.machines.find((m) => m.zone === CONTROLLED_ZONE);
          if (first) this.machines.get(first.key)?.startFault(now);
        }
        for (const m of this.machines.values()) m.step(now, dt);
      }, 250),
    );
  }

  /** Announces "offline", disconnects every device cleanly (no will) and stops the clock. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    const bye = JSON.stringify({ status: "offline", ts: new Date().toISOString() });
    const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);
    await Promise.allSettled(
      this.devices.map(async ({ spec, client }) => {
        if (client.connected) await within(client.publishAsync(statusTopic(spec.clientId), bye, { qos: 1, retain: true }).catch(() => undefined), 2000);
        await within(client.endAsync(), 2000);
        client.end(true);
      }),
    );
  }

  private async connectDevice(spec: DeviceSpec, run: (client: MqttClient) => void | Promise<void>): Promise<void> {
    let login = this.opts.logins.get(spec.clientId);
    if (!login) throw new Error(`no credential for ${spec.clientId}`);
    for (let attempt = 0; ; attempt++) {
      const options: IClientOptions = {
        clientId: spec.clientId,
        username: `${login.username}@${TENANT.slug}`,
        password: login.password,
        protocolVersion: 5,
        clean: true,
        reconnectPeriod: 2000,
        connectTimeout: 10_000,
        will: { topic: statusTopic(spec.clientId), payload: Buffer.from(JSON.stringify({ status: "offline" })), qos: 1, retain: true },
      };
      let client: MqttClient;
      try {
        client = await mqtt.connectAsync(this.opts.mqttUrl, options);
      } catch (err) {
        const code = (err as { code?: number }).code;
        // 0x86 bad user name or password: the stored password is stale (rotated elsewhere); get a new one once.
        if ((code === 134 || code === 4) && attempt === 0 && this.opts.rotate) {
          this.log(`${spec.clientId}: the broker refused the stored password; rotating it`);
          login = await this.opts.rotate(spec.clientId);
          continue;
        }
        throw new Error(`${spec.clientId} could not connect to ${this.opts.mqttUrl}: ${(err as Error).message}`, { cause: err });
      }
      if (this.stopped) {
        client.end(true);
        return;
      }
      let refused = false;
      client.on("error", (err) => {
        const code = (err as { code?: unknown }).code;
        if (typeof code === "number") {
          // The broker answered and said no (credential revoked, device disabled, tenant suspended): per device, once.
          if (!refused) this.log(`${spec.clientId}: refused by the broker: ${err.message}`);
          refused = true;
        } else if (!this.brokerLost) {
          // Network trouble hits every device at once: one line for all of them.
          this.brokerLost = true;
          this.log(`lost the broker (${err.message}); devices retry every 2 s`);
        }
      });
      client.on("connect", () => {
        refused = false;
        void this.announce(spec, client);
        if (this.brokerLost && this.connected === this.devices.length) {
          this.brokerLost = false;
          this.log(`all ${this.devices.length} devices reconnected`);
        }
      });
      this.devices.push({ spec, client });
      await this.announce(spec, client);
      await run(client);
      return;
    }
  }

  private async announce(spec: DeviceSpec, client: MqttClient): Promise<void> {
    const hello = JSON.stringify({ status: "online", ts: new Date().toISOString(), description: spec.description });
    await client.publishAsync(statusTopic(spec.clientId), hello, { qos: 1, retain: true }).catch(() => undefined);
  }

  private runSensor(s: SensorSpec, client: MqttClient): void {
    const machine = this.machines.get(s.machine.key)!;
    const publish = () => {
      if (!client.connected) return;
      const ts = new Date().toISOString();
      const base = { sensor: s.clientId, machine: s.machine.key, ts };
      let body: object;
      let qos: 0 | 1 = 0;
      if (s.kind === "temperature") body = { ...base, value: machine.temperature(), unit: "°C" };
      else if (s.kind === "vibration") body = { ...base, value: machine.vibration(), unit: "mm/s" };
      else {
        // Cumulative energy matters for billing: at least once.
        qos = 1;
        body = { ...base, value: round(machine.energyKWh, 3), unit: "kWh", power: machine.power(), powerUnit: "kW" };
      }
      client.publish(s.topic, JSON.stringify(body), { qos, retain: true }, (err) => {
        if (!err) this.counters.readings++;
      });
    };
    // Spread the sensors over the second instead of publishing in bursts.
    const first = setTimeout(() => {
      publish();
      this.timers.push(setInterval(publish, this.intervalMs));
    }, Math.random() * this.intervalMs);
    this.timers.push(first);
  }

  private async runController(client: MqttClient): Promise<void> {
    client.on("message", (topic, payload, packet) => {
      // Retained values are history (maybe from an earlier run), not a reason to act now.
      if (packet.retain) return;
      const [, zone, machine, kind] = topic.split("/");
      const key = `${zone}/${machine}`;
      if (kind === "vibration") {
        const reading = parse(payload);
        const value = typeof reading?.value === "number" ? reading.value : undefined;
        if (value === undefined || value <= this.threshold) return;
        const now = Date.now();
        if (now - (this.lastCommand.get(key) ?? 0) < COMMAND_COOLDOWN_MS) return;
        this.lastCommand.set(key, now);
        const m = this.opts.plan.machines.find((x) => x.key === key);
        if (!m) return;
        const id = `cmd-${Date.now().toString(36)}-${++this.commandSeq}`;
        const command = { id, command: "reduce-speed", targetSpeed: 0.6, reason: `vibration ${value} mm/s above ${this.threshold} mm/s`, ts: new Date().toISOString() };
        this.pending.set(id, { machine: key, sentAt: now });
        this.counters.commands++;
        this.log(`! ${key} vibrates at ${value} mm/s (limit ${this.threshold}): ${this.opts.plan.controller.clientId} sends reduce-speed at QoS 2`);
        client.publish(commandTopic(m), JSON.stringify(command), { qos: 2 }, (err) => {
          if (err) this.log(`  command ${id} to ${key} failed: ${err.message}`);
        });
      } else if (kind === "ack") {
        const ack = parse(payload);
        const id = typeof ack?.commandId === "string" ? ack.commandId : undefined;
        const sent = id ? this.pending.get(id) : undefined;
        if (!id || !sent) return;
        this.pending.delete(id);
        this.counters.acks++;
        this.log(`  ${key} acknowledged ${String(ack?.command)} (${String(ack?.status)}) after ${Date.now() - sent.sentAt} ms`);
      }
    });
    refused(this.opts.plan.controller.clientId, await client.subscribeAsync(`factory/${CONTROLLED_ZONE}/#`, { qos: 2 }));
  }

  private async runGateway(client: MqttClient): Promise<void> {
    const byTopic = new Map(this.opts.plan.machines.map((m) => [commandTopic(m), m]));
    client.on("message", (topic, payload, packet) => {
      const m = byTopic.get(topic);
      const cmd = parse(payload);
      if (!m || packet.retain || typeof cmd?.id !== "string" || typeof cmd.command !== "string") return;
      this.counters.commandsDelivered++;
      const applied = this.machines.get(m.key)!.apply(cmd.command, Date.now());
      const ack = { commandId: cmd.id, command: cmd.command, status: applied ? "applied" : "rejected", qos: packet.qos, ts: new Date().toISOString() };
      client.publish(ackTopic(m), JSON.stringify(ack), { qos: 2 }, (err) => {
        if (err) this.log(`  ack of ${cmd.id} failed: ${err.message}`);
      });
    });
    refused(this.opts.plan.gateway.clientId, await client.subscribeAsync([...byTopic.keys()], { qos: 2 }));
  }
}

/** A SUBACK failure code means the device's role does not allow the subscription: say so instead of idling. */
function refused(clientId: string, grants: ISubscriptionGrant[]): void {
  const bad = grants.filter((g) => g.qos >= 0x80);
  if (bad.length > 0) throw new Error(`${clientId} may not subscribe to ${bad.map((g) => g.topic).join(", ")} (SUBACK 0x${bad[0]!.qos.toString(16)}); check its role`);
}

function parse(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(payload.toString("utf8")) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
