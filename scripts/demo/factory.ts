/**
 * The demo's factory: which devices exist, the topics they use and the
 * permissions that follow from that topic design. Shared by provisioning
 * (what to create through the API) and the simulation (who connects and
 * publishes what), so the two cannot disagree.
 *
 * Topics (as the tenant's devices see them; the broker keeps them in the
 * tenant's own namespace):
 *
 *   factory/<zone>/<machine>/temperature   °C, retained, QoS 0
 *   factory/<zone>/<machine>/vibration     mm/s RMS, retained, QoS 0
 *   factory/<zone>/<machine>/energy        kW and cumulative kWh, retained, QoS 1
 *   factory/<zone>/<machine>/command       line controller -> machine, QoS 2
 *   factory/<zone>/<machine>/ack           machine -> line controller, QoS 2
 *   factory/status/<clientid>              "online"/"offline" (retained; the will)
 */

export const TENANT = { slug: "smart-factory", name: "Smart Factory" } as const;

export const KINDS = ["temperature", "vibration", "energy"] as const;
export type Kind = (typeof KINDS)[number];

export interface MachineSpec {
  zone: string;
  machine: string;
  /** `<zone>/<machine>`, e.g. zone1/machine1. */
  key: string;
}

export interface DeviceSpec {
  clientId: string;
  description: string;
  tags: string[];
  role: "sensor" | "controller" | "gateway";
}

export interface SensorSpec extends DeviceSpec {
  role: "sensor";
  kind: Kind;
  machine: MachineSpec;
  topic: string;
}

export interface RuleSpec {
  effect: "allow" | "deny";
  action: "publish" | "subscribe" | "both";
  topicFilter: string;
  priority: number;
}

export interface RoleSpec {
  name: string;
  description: string;
  rules: RuleSpec[];
}

export interface FactoryPlan {
  machines: MachineSpec[];
  sensors: SensorSpec[];
  controller: DeviceSpec;
  gateway: DeviceSpec;
  devices: DeviceSpec[];
  roles: Record<DeviceSpec["role"], RoleSpec>;
  /** Sensors get their role through this group (one binding for all of them). */
  sensorGroup: { name: string; description: string };
}

/** The zone the line controller runs (and may command). */
export const CONTROLLED_ZONE = "zone1";

export const statusTopic = (clientId: string) => `factory/status/${clientId}`;
export const commandTopic = (m: MachineSpec) => `factory/${m.key}/command`;
export const ackTopic = (m: MachineSpec) => `factory/${m.key}/ack`;

const allow = (action: RuleSpec["action"], topicFilter: string): RuleSpec => ({ effect: "allow", action, topicFilter, priority: 100 });

/**
 * `sensors` sensor devices, three per machine (temperature, vibration,
 * energy), machines alternating between zone1 and zone2: the default 12
 * makes zone1/machine1, zone2/machine1, zone1/machine2, zone2/machine2.
 */
export function factoryPlan(sensors = 12): FactoryPlan {
  const machines: MachineSpec[] = [];
  const sensorSpecs: SensorSpec[] = [];
  for (let i = 0; sensorSpecs.length < sensors; i++) {
    const zone = `zone${(i % 2) + 1}`;
    const machine = `machine${Math.floor(i / 2) + 1}`;
    const m: MachineSpec = { zone, machine, key: `${zone}/${machine}` };
    machines.push(m);
    for (const kind of KINDS) {
      if (sensorSpecs.length === sensors) break;
      sensorSpecs.push({
        clientId: `${zone}-${machine}-${kind}`,
        description: `${kind[0]!.toUpperCase()}${kind.slice(1)} sensor on ${zone} ${machine}`,
        tags: ["sensor", kind, zone, machine],
        role: "sensor",
        kind,
        machine: m,
        topic: `factory/${m.key}/${kind}`,
      });
    }
  }
  const controller: DeviceSpec = {
    clientId: `line-controller-${CONTROLLED_ZONE}`,
    description: `Line controller of ${CONTROLLED_ZONE}: watches its telemetry and slows machines down when they vibrate too much`,
    tags: ["controller", CONTROLLED_ZONE],
    role: "controller",
  };
  const gateway: DeviceSpec = {
    clientId: "command-gateway",
    description: "Machine command gateway: receives commands for every machine and acknowledges them",
    tags: ["gateway"],
    role: "gateway",
  };
  const own = "factory/status/${clientid}";
  return {
    machines,
    sensors: sensorSpecs,
    controller,
    gateway,
    devices: [...sensorSpecs, controller, gateway],
    sensorGroup: { name: "sensors", description: "Every telemetry sensor of the factory (role: sensor)" },
    roles: {
      sensor: {
        name: "sensor",
        description: "Telemetry sensors: publish readings of any machine, and their own status; nothing else",
        rules: [...KINDS.map((k) => allow("publish", `factory/+/+/${k}`)), allow("publish", own)],
      },
      controller: {
        name: "controller",
        description: `Line controller: read everything in ${CONTROLLED_ZONE}, command its machines`,
        rules: [allow("subscribe", `factory/${CONTROLLED_ZONE}/#`), allow("publish", `factory/${CONTROLLED_ZONE}/+/command`), allow("publish", own)],
      },
      gateway: {
        name: "command-gateway",
        description: "Command gateway: receive machine commands and acknowledge them",
        rules: [allow("subscribe", "factory/+/+/command"), allow("publish", "factory/+/+/ack"), allow("publish", own)],
      },
    },
  };
}
