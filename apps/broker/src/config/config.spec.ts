import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compareConfig, ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("gives the documented defaults with no settings", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ mqttPort: 1883, wsPort: 8083, wsPath: "/mqtt", httpPort: 8080, store: "lmdb", durability: "fsync", logLevel: "info" });
  });

  it("reads HALYARD_ variables into typed fields", () => {
    const c = loadConfig({ HALYARD_MQTT_PORT: "0", HALYARD_QUEUE_QOS0_OFFLINE: "true", HALYARD_MAX_PACKET_SIZE: "2048", PATH: "/bin" });
    expect(c.mqttPort).toBe(0);
    expect(c.queueQos0Offline).toBe(true);
    expect(c.maxPacketSize).toBe(2048);
  });

  it("names every invalid variable in one error", () => {
    try {
      loadConfig({ HALYARD_MQTT_PORT: "-1", HALYARD_LOG_LEVEL: "loud", HALYARD_DURABILITY: "maybe" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain("HALYARD_MQTT_PORT");
      expect(msg).toContain("HALYARD_LOG_LEVEL");
      expect(msg).toContain("HALYARD_DURABILITY");
    }
  });

  it("refuses unknown HALYARD_ variables", () => {
    expect(() => loadConfig({ HALYARD_MQTT_PROT: "1" })).toThrow(/HALYARD_MQTT_PROT/);
  });

  it("requires TLS cert and key together", () => {
    expect(() => loadConfig({ HALYARD_TLS_CERT_FILE: "/x.pem" })).toThrow(/go together/);
  });

  it("reads a JSON config file; environment variables win", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "halyard-cfg-"));
    const file = path.join(dir, "halyard.json");
    writeFileSync(file, JSON.stringify({ mqttPort: 1884, wsPort: 9001 }));
    const c = loadConfig({ HALYARD_CONFIG: file, HALYARD_WS_PORT: "9002" });
    expect(c.mqttPort).toBe(1884);
    expect(c.wsPort).toBe(9002);
  });

  it("rejects unknown keys in the config file and unreadable files", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "halyard-cfg-"));
    const file = path.join(dir, "halyard.json");
    writeFileSync(file, JSON.stringify({ mqttPrt: 1 }));
    expect(() => loadConfig({ HALYARD_CONFIG: file })).toThrow(ConfigError);
    expect(() => loadConfig({ HALYARD_CONFIG: path.join(dir, "missing.json") })).toThrow(/cannot read/);
  });
});

describe("compareConfig (reload)", () => {
  it("applies reloadable settings and lists the others as needing a restart", () => {
    const current = loadConfig({ HALYARD_MQTT_PORT: "0" });
    const next = loadConfig({ HALYARD_MQTT_PORT: "1884", HALYARD_LOG_LEVEL: "debug", HALYARD_MAX_PACKET_SIZE: "2048", HALYARD_SNI_DOMAIN: "mqtt.example.com", HALYARD_STORE: "memory" });
    expect(compareConfig(current, next)).toEqual({
      apply: { logLevel: "debug", maxPacketSize: 2048, sniDomain: "mqtt.example.com" },
      restartRequired: ["mqttPort", "store"],
    });
    expect(compareConfig(current, current)).toEqual({ apply: {}, restartRequired: [] });
  });

  it("TLS file names reload while TLS stays on; turning TLS on needs a restart", () => {
    const off = loadConfig({});
    const on = loadConfig({ HALYARD_TLS_CERT_FILE: "/a/cert.pem", HALYARD_TLS_KEY_FILE: "/a/key.pem" });
    const moved = loadConfig({ HALYARD_TLS_CERT_FILE: "/b/cert.pem", HALYARD_TLS_KEY_FILE: "/b/key.pem" });
    expect(compareConfig(off, on)).toEqual({ apply: {}, restartRequired: ["tlsCertFile", "tlsKeyFile"] });
    expect(compareConfig(on, moved)).toEqual({ apply: { tlsCertFile: "/b/cert.pem", tlsKeyFile: "/b/key.pem" }, restartRequired: [] });
  });

  it("a config file that is not valid JSON is named without quoting its contents", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "halyard-cfg-"));
    const file = path.join(dir, "c.json");
    writeFileSync(file, '{"adminPassword": "a-secret-value-here" oops}');
    expect(() => loadConfig({ HALYARD_CONFIG: file })).toThrow(/not valid JSON/);
    try {
      loadConfig({ HALYARD_CONFIG: file });
    } catch (err) {
      expect((err as Error).message).not.toContain("a-secret-value-here");
    }
    writeFileSync(file, "[1, 2]");
    expect(() => loadConfig({ HALYARD_CONFIG: file })).toThrow(/one JSON object/);
  });
});
