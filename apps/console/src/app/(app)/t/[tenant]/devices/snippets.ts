/**
 * Ready-to-paste connection snippets shown next to a secret the API returns
 * once. Values are quoted for the shell (single quotes, `'` escaped) and for
 * JavaScript (JSON string literals), so client ids or usernames with spaces
 * or quotes still paste correctly. The username names the tenant as
 * `<username>@<tenant>` (the broker's default separator, see
 * apps/broker/src/mqtt/tenancy/identity.ts).
 */

export interface Endpoint {
  host: string;
  /** Plain MQTT port (passwords). */
  port: number;
  /** MQTT over TLS port (certificates). */
  tlsPort: number;
}

/** POSIX shell single-quoting. */
export function sh(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function js(value: string): string {
  return JSON.stringify(value);
}

export function mqttUsername(username: string, tenant: string): string {
  return `${username}@${tenant}`;
}

export function passwordSnippets(e: Endpoint, o: { clientId: string; username: string; password: string; tenant: string }) {
  const user = mqttUsername(o.username, o.tenant);
  const mosquitto = `mosquitto_pub -h ${sh(e.host)} -p ${e.port} -i ${sh(o.clientId)} -u ${sh(user)} -P ${sh(o.password)} -t 'test' -m 'hello'`;
  const mqttjs = [
    `import mqtt from "mqtt";`,
    ``,
    `const client = mqtt.connect(${js(`mqtt://${e.host}:${e.port}`)}, {`,
    `  clientId: ${js(o.clientId)},`,
    `  username: ${js(user)},`,
    `  password: ${js(o.password)},`,
    `});`,
    `client.on("connect", () => client.publish("test", "hello", () => client.end()));`,
    `client.on("error", (err) => console.error(err.message));`,
  ].join("\n");
  return { mosquitto, mqttjs };
}

/**
 * mTLS: the certificate names the tenant and the device, so no username is
 * needed; the client id must be the device's. `--cafile` is the CA that signed
 * the broker's own TLS certificate (tenant CAs sign device certificates only).
 */
export function certificateSnippets(e: Endpoint, o: { clientId: string; certFile: string; keyFile: string }) {
  const mosquitto = `mosquitto_pub -h ${sh(e.host)} -p ${e.tlsPort} --cafile broker-ca.pem --cert ${sh(o.certFile)} --key ${sh(o.keyFile)} -i ${sh(o.clientId)} -t 'test' -m 'hello'`;
  const mqttjs = [
    `import { readFileSync } from "node:fs";`,
    `import mqtt from "mqtt";`,
    ``,
    `const client = mqtt.connect(${js(`mqtts://${e.host}:${e.tlsPort}`)}, {`,
    `  clientId: ${js(o.clientId)},`,
    `  cert: readFileSync(${js(o.certFile)}),`,
    `  key: readFileSync(${js(o.keyFile)}),`,
    `  ca: readFileSync("broker-ca.pem"),`,
    `});`,
    `client.on("connect", () => client.publish("test", "hello", () => client.end()));`,
    `client.on("error", (err) => console.error(err.message));`,
  ].join("\n");
  return { mosquitto, mqttjs };
}

/** A file-name-safe form of a client id, for downloads. */
export function fileStem(clientId: string): string {
  const s = clientId.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "");
  return s.slice(0, 80) || "device";
}
