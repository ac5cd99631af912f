import { X509Certificate } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import WebSocket from "ws";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { listenTcp, listenTls, listenWs, type Listener, type TransportInfo } from "../src/index.ts";
import { makePki, type TestPki } from "./certs.ts";
import { echo, roundTrip } from "./echo-streams.ts";


describe("listeners", () => {
  let pki: TestPki;
  const open: Listener[] = [];
  beforeAll(() => {
    pki = makePki();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  it("TCP: binds port 0 to a free port and hands the engine a stream with the peer address", async () => {
    const seen: TransportInfo[] = [];
    const l = await listenTcp({ host: "127.0.0.1", port: 0, onConnection: echo(seen) });
    open.push(l);
    expect(l.port).toBeGreaterThan(0);
    const socket = net.connect(l.port, "127.0.0.1");
    expect(await roundTrip(socket, "ping")).toBe("ping");
    expect(seen[0]).toMatchObject({ transport: "tcp", remoteAddress: "127.0.0.1" });
    socket.destroy();
  });

  it("stopAccepting (graceful shutdown): new TCP and WebSocket connections are refused, open ones keep working", async () => {
    const tcp = await listenTcp({ host: "127.0.0.1", port: 0, onConnection: echo() });
    const ws = await listenWs({ host: "127.0.0.1", port: 0, path: "/mqtt", maxPayload: 1024, onConnection: echo() });
    open.push(tcp, ws);
    const socket = net.connect(tcp.port, "127.0.0.1");
    expect(await roundTrip(socket, "before")).toBe("before");
    const client = new WebSocket(`ws://127.0.0.1:${ws.port}/mqtt`, "mqtt");
    await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
    tcp.stopAccepting();
    ws.stopAccepting();
    expect(await roundTrip(socket, "after")).toBe("after");
    const echoed = new Promise<string>((resolve) => client.once("message", (d: Buffer) => resolve(d.toString())));
    client.send("still open");
    expect(await echoed).toBe("still open");
    for (const port of [tcp.port, ws.port]) {
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.once("connect", () => resolve("connected"));
        s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      });
      expect(refused).toBe("ECONNREFUSED");
    }
    socket.destroy();
    client.terminate();
  });

  it("TCP: a port in use is reported as an error, not swallowed", async () => {
    const first = await listenTcp({ host: "127.0.0.1", port: 0, onConnection: () => undefined });
    open.push(first);
    await expect(listenTcp({ host: "127.0.0.1", port: first.port, onConnection: () => undefined })).rejects.toThrow(/EADDRINUSE/);
  });

  it("TLS: passes the verified client certificate and SNI name to the engine", async () => {
    const seen: TransportInfo[] = [];
    const l = await listenTls({ host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, onConnection: echo(seen) });
    open.push(l);
    const socket = tls.connect({ port: l.port, host: "127.0.0.1", servername: "acme.mqtt.test", ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    expect(await roundTrip(socket, "hello")).toBe("hello");
    const info = seen[0] as TransportInfo;
    expect(info.transport).toBe("tls");
    expect(info.servername).toBe("acme.mqtt.test");
    expect(info.authorized).toBe(true);
    expect(new X509Certificate(info.peerCertificate as Buffer).subject).toContain("CN=device-1");
    socket.destroy();
  });

  it("TLS: a certificate from another CA is not 'authorized'; with requireClientCert it is refused", async () => {
    const seen: TransportInfo[] = [];
    const lenient = await listenTls({ host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, onConnection: echo(seen) });
    open.push(lenient);
    const s1 = tls.connect({ port: lenient.port, host: "127.0.0.1", ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey });
    expect(await roundTrip(s1, "x")).toBe("x");
    expect(seen[0]?.authorized).toBe(false);
    s1.destroy();

    const strict = await listenTls({
      host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requireClientCert: true, onConnection: echo([]),
    });
    open.push(strict);
    const s2 = tls.connect({ port: strict.port, host: "127.0.0.1", ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey });
    const outcome = await new Promise<string>((resolve) => {
      s2.once("data", () => resolve("data"));
      s2.once("error", (e) => resolve(`error: ${e.message}`));
      s2.once("close", () => resolve("closed"));
      s2.write("x");
    });
    expect(outcome).not.toBe("data");
    s2.destroy();
  });

  it("TLS: refuses TLS 1.1 and older", async () => {
    const l = await listenTls({ host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, onConnection: echo([]) });
    open.push(l);
    const s = tls.connect({ port: l.port, host: "127.0.0.1", ca: pki.ca, maxVersion: "TLSv1.1", minVersion: "TLSv1" });
    const err = await new Promise<Error>((resolve) => s.once("error", resolve));
    expect(err.message).toMatch(/version|protocol/i);
  });

  for (const secure of [false, true]) {
    const name = secure ? "WSS" : "WS";
    it(`${name}: binary frames on /mqtt reach the engine as a byte stream; subprotocol 'mqtt' is selected [MQTT-6.0.0-3]`, async () => {
      const seen: TransportInfo[] = [];
      const l = await listenWs({
        host: "127.0.0.1", port: 0, path: "/mqtt", maxPayload: 1024, onConnection: echo(seen),
        ...(secure ? { tls: { cert: pki.serverCert, key: pki.serverKey } } : {}),
      });
      open.push(l);
      const ws = new WebSocket(`${secure ? "wss" : "ws"}://127.0.0.1:${l.port}/mqtt`, ["mqtt"], secure ? { ca: pki.ca } : {});
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      expect(ws.protocol).toBe("mqtt");
      const reply = new Promise<Buffer>((resolve) => ws.once("message", (d: Buffer) => resolve(d)));
      ws.send(Buffer.from([0xc0, 0x00]));
      expect([...(await reply)]).toEqual([0xc0, 0x00]);
      expect(seen[0]?.transport).toBe(secure ? "wss" : "ws");
      ws.close();
    });
  }

  it("WSS with requestClientCert: a client certificate (any issuer, none required) reaches the engine with the servername", async () => {
    const seen: TransportInfo[] = [];
    const l = await listenWs({
      host: "127.0.0.1", port: 0, path: "/mqtt", maxPayload: 1024, onConnection: echo(seen),
      tls: { cert: pki.serverCert, key: pki.serverKey }, requestClientCert: true,
    });
    open.push(l);
    const opened = async (opts: Record<string, unknown>) => {
      const ws = new WebSocket(`wss://127.0.0.1:${l.port}/mqtt`, ["mqtt"], { ca: pki.ca, servername: "acme.mqtt.test", ...opts } as WebSocket.ClientOptions);
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      ws.close();
    };
    await opened({ cert: pki.strangerCert, key: pki.strangerKey });
    await opened({});
    expect(seen).toHaveLength(2);
    const expected = new X509Certificate(pki.strangerCert).raw;
    expect(seen[0]).toMatchObject({ transport: "wss", servername: "acme.mqtt.test", authorized: false });
    expect(Buffer.compare(seen[0]!.peerCertificate!, expected)).toBe(0);
    expect(seen[1]?.peerCertificate).toBeUndefined();
  });

  it("WS: an unknown subprotocol and a message above maxPayload are refused", async () => {
    const l = await listenWs({ host: "127.0.0.1", port: 0, path: "/mqtt", maxPayload: 16, onConnection: echo([]) });
    open.push(l);
    const bad = new WebSocket(`ws://127.0.0.1:${l.port}/mqtt`, ["not-mqtt"]);
    await expect(new Promise((resolve, reject) => (bad.once("open", resolve), bad.once("error", reject)))).rejects.toThrow();
    const ws = new WebSocket(`ws://127.0.0.1:${l.port}/mqtt`, ["mqtt"]);
    await new Promise((resolve) => ws.once("open", resolve));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(Buffer.alloc(64));
    expect(await closed).toBe(1009); // message too big
  });

  it("plain HTTP to the WebSocket port gets 426 Upgrade Required", async () => {
    const l = await listenWs({ host: "127.0.0.1", port: 0, path: "/mqtt", maxPayload: 1024, onConnection: echo([]) });
    open.push(l);
    const res = await fetch(`http://127.0.0.1:${l.port}/mqtt`);
    expect(res.status).toBe(426);
  });
});
