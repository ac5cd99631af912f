/**
 * `npm run demo`: a simulated smart factory on a running Halyard broker, so
 * the console's dashboards have something to show.
 *
 * 1. Signs in to the admin API and provisions, idempotently, the tenant
 *    "smart-factory" with its devices, password credentials, roles, a group
 *    and the bindings (see factory.ts for the topic design and permissions).
 * 2. Runs the devices over MQTT, each with its own credential (see
 *    simulation.ts): sensors publish every second, the line controller
 *    commands machines that vibrate too much at QoS 2, the command gateway
 *    acknowledges at QoS 2.
 *
 * Everything goes through the public API and MQTT, like any client would.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AdminApi } from "./api.ts";
import { factoryPlan, TENANT } from "./factory.ts";
import { provision, type ProvisionReport } from "./provision.ts";
import { FactorySimulation } from "./simulation.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const USAGE = `Usage: npm run demo -- [options]

Provisions the tenant "${TENANT.slug}" on a running Halyard broker through its admin API,
then simulates its devices over MQTT until Ctrl-C.

Options:
  --provision-only     create (or check) the tenant, devices, roles and credentials, then exit
  --duration <s>       stop after this many seconds (default: run until Ctrl-C)
  --devices <n>        number of sensors, three per machine (default 12, at most 3000)
  --state <file>       where device passwords are kept between runs
                       (default .halyard-data/demo/${TENANT.slug}.json, mode 600)
  -h, --help           this text

Environment:
  DEMO_API_URL            admin API (default http://127.0.0.1:8080)
  DEMO_MQTT_URL           MQTT listener (default mqtt://127.0.0.1:1883)
  HALYARD_ADMIN_USERNAME  local administrator (default admin)
  HALYARD_ADMIN_PASSWORD  its password, as printed by the broker at its first start (required)
  CONSOLE_PUBLIC_URL      console address for the link printed at start (default http://localhost:3000)`;

class UsageError extends Error {}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

interface Options {
  provisionOnly: boolean;
  durationS: number | undefined;
  devices: number;
  stateFile: string;
}

function options(argv: string[]): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        "provision-only": { type: "boolean", default: false },
        duration: { type: "string" },
        devices: { type: "string" },
        state: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.help) return undefined;
  const int = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${v}")`);
    return n;
  };
  return {
    provisionOnly: parsed["provision-only"],
    durationS: int("duration", parsed.duration, 1, 7 * 24 * 3600),
    devices: int("devices", parsed.devices, 1, 3000) ?? 12,
    stateFile: path.resolve(parsed.state ?? path.join(root, ".halyard-data", "demo", `${TENANT.slug}.json`)),
  };
}

const machineList = (keys: string[]) => (keys.length <= 6 ? keys.join(", ") : `${keys.slice(0, 4).join(", ")} and ${keys.length - 4} more`);

function printReport(r: ProvisionReport, plan: ReturnType<typeof factoryPlan>, apiUrl: string): void {
  const roles = Object.entries(r.roles)
    .map(([name, outcome]) => `${name} (${outcome})`)
    .join(", ");
  const d = r.devices;
  const c = r.credentials;
  console.log(`Provisioned through ${apiUrl}:`);
  console.log(`  tenant       ${TENANT.slug} "${TENANT.name}" (${r.tenant})`);
  console.log(`  roles        ${roles}`);
  console.log(`  group        ${plan.sensorGroup.name}: ${r.group.members} sensors (${r.group.outcome}${r.group.added ? `, ${r.group.added} added` : ""})`);
  console.log(`  devices      ${plan.devices.length}: ${d.created} created, ${d.updated} updated, ${d.existing} unchanged`);
  console.log(`               ${plan.machines.length} machines (${machineList(plan.machines.map((m) => m.key))}), ${plan.sensors.length} sensors, ${plan.controller.clientId}, ${plan.gateway.clientId}`);
  console.log(`  credentials  ${c.created} created, ${c.rotated} rotated, ${c.reused} reused (one password credential per device)`);
  console.log(`  bindings     ${r.bindings.created} created, ${r.bindings.existing} unchanged (sensor -> group ${plan.sensorGroup.name}, controller, command-gateway -> their device)`);
  console.log(`  passwords    kept in ${r.stateFile} (mode 600), not printed`);
}

async function main(): Promise<number> {
  let parsed: Options | undefined;
  try {
    parsed = options(process.argv.slice(2));
  } catch (err) {
    console.error(`demo: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!parsed) {
    console.log(USAGE);
    return 0;
  }
  const opts = parsed;
  const apiUrl = process.env.DEMO_API_URL || "http://127.0.0.1:8080";
  const mqttUrl = process.env.DEMO_MQTT_URL || "mqtt://127.0.0.1:1883";
  const consoleUrl = (process.env.CONSOLE_PUBLIC_URL || "http://localhost:3000").replace(/\/$/, "");
  const plan = factoryPlan(opts.devices);
  const stamp = () => new Date().toISOString().slice(11, 19);
  const log = (line: string) => console.log(`${stamp()} ${line}`);

  const api = await AdminApi.connect(apiUrl, {
    username: process.env.HALYARD_ADMIN_USERNAME || "admin",
    password: process.env.HALYARD_ADMIN_PASSWORD || undefined,
  });
  const provisioned = await provision(api, plan, opts.stateFile, log);
  printReport(provisioned.report, plan, apiUrl);
  if (opts.provisionOnly) return 0;

  const sim = new FactorySimulation({ mqttUrl, plan, logins: provisioned.logins, rotate: provisioned.rotate, log });
  let stopping: Promise<void> | undefined;
  const stop = (why: string) => {
    if (stopping) return stopping;
    log(`${why}: disconnecting ${sim.connected} devices…`);
    stopping = sim.stop();
    return stopping;
  };
  const done = new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      if (stopping) {
        console.error("demo: second interrupt, exiting now");
        process.exit(130);
      }
      void stop(sig === "SIGINT" ? "Ctrl-C" : sig).then(resolve);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    if (opts.durationS !== undefined) setTimeout(() => void stop(`${opts.durationS} s elapsed`).then(resolve), opts.durationS * 1000).unref();
  });

  console.log(`Connecting ${plan.devices.length} devices to ${mqttUrl} as <device>@${TENANT.slug}…`);
  try {
    await sim.start();
  } catch (err) {
    await sim.stop();
    throw err;
  }
  console.log(`Open ${consoleUrl}/t/${TENANT.slug} to watch it live. Ctrl-C stops.`);
  const ticker = setInterval(() => {
    const k = sim.counters;
    log(`${sim.connected}/${sim.total} devices connected; ${plural(k.readings, "reading")}, ${plural(k.commands, "command")}, ${k.acks} acknowledged`);
  }, 10_000);
  await done;
  clearInterval(ticker);
  const k = sim.counters;
  console.log(`Stopped: ${plural(k.readings, "reading")} published, ${plural(k.commands, "command")} sent at QoS 2, ${k.commandsDelivered} delivered, ${k.acks} acknowledged.`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
