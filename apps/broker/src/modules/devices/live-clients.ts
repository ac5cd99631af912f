import { Inject, Injectable } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import { MqttService } from "../../mqtt/mqtt.service.ts";

/**
 * Which devices hold a live MQTT connection, read from the running engine.
 *
 * The engine keys connected clients by session key `<mount>\0<clientId>`,
 * and a tenant's devices are mounted at `<slug>/` (see mqtt/tenancy), so a
 * device is connected exactly when `<slug>/\0<clientId>` is in
 * `broker.connected`. This is the view of this broker process: with several
 * processes behind one database, each answers for its own connections.
 *
 * MqttService is provided by the root module; it is looked up lazily here
 * (not injected) so the feature modules need not import the root module.
 */
@Injectable()
export class LiveClients {
  private mqtt: MqttService | undefined;

  constructor(@Inject(ModuleRef) private readonly refs: ModuleRef) {}

  private get connected(): ReadonlyMap<string, unknown> {
    const mqtt = (this.mqtt ??= this.refs.get(MqttService, { strict: false }));
    if (!mqtt) throw new Error("MqttService is not available");
    return mqtt.broker.connected;
  }

  isConnected(slug: string, clientId: string): boolean {
    return this.connected.has(`${slug}/\u0000${clientId}`);
  }

  /** Client ids of the tenant's connected devices. */
  clientIds(slug: string): string[] {
    const prefix = `${slug}/\u0000`;
    const out: string[] = [];
    for (const key of this.connected.keys()) if (key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out;
  }
}
