/**
 * Minimal Aedes 1.x MQTT server for the benchmark: default broker options,
 * in-memory persistence, plain TCP on 127.0.0.1:<port>.
 *
 * Usage: node --import tsx bench/src/servers/aedes-server.ts <port>
 *        (or AEDES_PORT=<port>)
 */

import net from "node:net";
import { Aedes } from "aedes";

const port = Number(process.argv[2] ?? process.env.AEDES_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: aedes-server.ts <port>");
  process.exit(64);
}

const broker = await Aedes.createBroker();
// noDelay matches the Mosquitto config (set_tcp_nodelay true) used by the bench.
const server = net.createServer({ noDelay: true }, broker.handle);
server.on("error", (err) => {
  console.error("aedes server error:", err);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => {
  console.error(`aedes listening on 127.0.0.1:${port}`);
});

const shutdown = (): void => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
