import mqtt from "mqtt";
import type { Api } from "./api-harness.ts";

/**
 * Helpers for MQTT tests against the whole app (startApi): tenants with
 * devices, credentials and roles made through the admin API, MQTT.js clients
 * that connect as `<username>@<tenant>`, and small waiting utilities.
 */

export interface Rule {
  effect: "allow" | "deny";
  action: "publish" | "subscribe" | "both";
  topicFilter: string;
  priority?: number;
}

export interface DeviceLogin {
  id: string;
  clientId: string;
  username: string;
  password: string;
}

export interface TenantFixture {
  slug: string;
  id: string;
  roleId: string;
  devices: Record<string, DeviceLogin>;
}

export const ALLOW_ALL: Rule[] = [{ effect: "allow", action: "both", topicFilter: "#" }];

async function ok<T = any>(api: Api, method: string, path: string, body?: unknown, expected = [200, 201, 204]): Promise<T> {
  const r = await api.call<T>(method, path, { token: api.admin, body });
  if (!expected.includes(r.status)) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A device with a generated credential, bound to the given roles. */
export async function addDevice(api: Api, slug: string, clientId: string, roleIds: string[]): Promise<DeviceLogin> {
  const device = await ok<{ id: string }>(api, "POST", `/api/v1/tenants/${slug}/devices`, { clientId });
  const cred = await ok<{ username: string; password: string }>(api, "POST", `/api/v1/tenants/${slug}/devices/${device.id}/credentials`, {
    username: clientId.replace(/@/g, "-"),
  });
  for (const roleId of roleIds) await ok(api, "POST", `/api/v1/tenants/${slug}/bindings`, { roleId, targetType: "device", targetId: device.id });
  return { id: device.id, clientId, username: cred.username, password: cred.password };
}

export async function addRole(api: Api, slug: string, name: string, rules: Rule[]): Promise<string> {
  return (await ok<{ id: string }>(api, "POST", `/api/v1/tenants/${slug}/roles`, { name, rules })).id;
}

export async function setRules(api: Api, slug: string, roleId: string, rules: Rule[]): Promise<void> {
  await ok(api, "PATCH", `/api/v1/tenants/${slug}/roles/${roleId}`, { rules });
}

/** A tenant, one role (`rules`, default: allow everything in the tenant) and devices bound to it. */
export async function provisionTenant(api: Api, slug: string, clientIds: string[], rules: Rule[] = ALLOW_ALL): Promise<TenantFixture> {
  const tenant = await ok<{ id: string }>(api, "POST", "/api/v1/tenants", { slug, name: slug });
  const roleId = await addRole(api, slug, "devices", rules);
  const devices: Record<string, DeviceLogin> = {};
  // One request at a time: the embedded database mixes up concurrent transactions (see the report).
  for (const c of clientIds) devices[c] = await addDevice(api, slug, c, [roleId]);
  return { slug, id: tenant.id, roleId, devices };
}

export async function patchTenant(api: Api, slug: string, body: unknown): Promise<void> {
  await ok(api, "PATCH", `/api/v1/tenants/${slug}`, body);
}

// ---- MQTT ------------------------------------------------------------------------------------

export type Client = mqtt.MqttClient;

/** A refused CONNECT: the CONNACK reason (v5) or return code (v3.1.1). */
export class Refused extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const connacks = new WeakMap<Client, mqtt.IConnackPacket>();

/** The CONNACK the client's connection was accepted with. */
export function connackOf(c: Client): mqtt.IConnackPacket {
  return connacks.get(c)!;
}

export function connectRaw(port: number, opts: mqtt.IClientOptions): Promise<Client> {
  return new Promise<Client>((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...opts });
    // Collect from the start: messages may arrive in the same read as CONNACK, before anyone could listen.
    const box: Received[] = [];
    inboxes.set(c, box);
    c.on("message", (topic, payload, packet) => box.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }));
    c.once("connect", (connack) => {
      connacks.set(c, connack);
      resolve(c);
    });
    c.once("error", (err: Error & { code?: number }) => {
      c.end(true);
      reject(new Refused(typeof err.code === "number" ? err.code : undefined, err.message));
    });
    c.once("close", () => reject(new Refused(undefined, "closed before CONNACK")));
  });
}

/** Connects as the device: client id and `<username>@<tenant>`. */
export function connectDevice(port: number, slug: string, d: DeviceLogin, opts: mqtt.IClientOptions = {}): Promise<Client> {
  return connectRaw(port, { clientId: d.clientId, username: `${d.username}@${slug}`, password: d.password, ...opts });
}

/** The CONNACK code a refused CONNECT got (throws if it was accepted). */
export async function refusal(p: Promise<Client>): Promise<number | undefined> {
  try {
    const c = await p;
    c.end(true);
  } catch (err) {
    if (err instanceof Refused) return err.code;
    throw err;
  }
  throw new Error("CONNECT was accepted");
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
}

const inboxes = new WeakMap<Client, Received[]>();

/** Every message the client has received since it connected (a live array). */
export function inbox(c: Client): Received[] {
  return inboxes.get(c)!;
}

/** SUBSCRIBE; resolves with the SUBACK codes (granted QoS or failure reason). */
export function subscribe(c: Client, filters: string | string[], opts: Partial<mqtt.IClientSubscribeOptions> = {}): Promise<number[]> {
  return new Promise((resolve, reject) => {
    c.subscribe(filters, { qos: 1, ...opts } as mqtt.IClientSubscribeOptions, ((err: Error | null, _granted: unknown, packet?: { granted: number[] }) => {
      if (packet?.granted) resolve(packet.granted);
      else if (err) reject(err);
      else resolve([]);
    }) as unknown as mqtt.ClientSubscribeCallback);
  });
}

/**
 * PUBLISH; resolves with the PUBACK reason code (0 for QoS 0 once written).
 * MQTT.js reports 0x10 (No matching subscribers, a success) as 0.
 */
export function publish(c: Client, topic: string, payload: string | Buffer, opts: mqtt.IClientPublishOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    c.publish(topic, payload, opts, (err, packet) => {
      const code = (err as (Error & { code?: number }) | undefined)?.code;
      if (typeof code === "number") resolve(code);
      else if (err) reject(err);
      else resolve((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0);
    });
  });
}

/** Resolves with the reason code of the server's DISCONNECT (undefined if the connection just closed). */
export function disconnected(c: Client): Promise<number | undefined> {
  return new Promise((resolve) => {
    let code: number | undefined;
    c.once("disconnect", (p) => (code = p.reasonCode));
    c.once("close", () => resolve(code));
  });
}

export async function closeAll(...clients: (Client | undefined)[]): Promise<void> {
  await Promise.all(clients.map((c) => (c && !c.disconnected ? c.endAsync(true).catch(() => undefined) : undefined)));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function until(check: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A publish/subscribe round trip on a marker topic: once the marker arrives,
 * everything published before it by the same broker has been routed, so
 * "nothing else arrived" is a real observation, not a guess about timing.
 */
export async function flush(pub: Client, sub: Client, box: Received[], marker: string, payload: string): Promise<void> {
  await publish(pub, marker, payload, { qos: 1 });
  await until(() => box.some((m) => m.topic === marker), 3000, `marker ${marker}`);
}

// ---- hand-made packets (for what MQTT.js will not send) -----------------------------------------

/** A v5 QoS 1 PUBLISH that names no topic, only a Topic Alias (section 3.3.2.3.4). */
export function aliasOnlyPublish(alias: number, payload: string, packetId: number): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x00, 0x00, packetId >> 8, packetId & 0xff, 0x03, 0x23, alias >> 8, alias & 0xff]),
    Buffer.from(payload),
  ]);
  if (body.length > 127) throw new Error("payload too long for this helper");
  return Buffer.concat([Buffer.from([0x32, body.length]), body]);
}
