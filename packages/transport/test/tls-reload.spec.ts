import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import WebSocket from "ws";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { listenTls, listenWs, type SecureListener, type TransportInfo } from "../src/index.ts";
import { makePki, type TestPki } from "./certs.ts";
import { echo, roundTrip } from "./echo-streams.ts";


const fingerprint = (pem: Buffer) => new X509Certificate(pem).fingerprint256;

/** Connects, completes the handshake and returns the socket with the fingerprint of the certificate the server sent. */
async function connectTls(port: number, opts: tls.ConnectionOptions): Promise<{ socket: tls.TLSSocket; served: string }> {
  const socket = tls.connect({ port, host: "127.0.0.1", ...opts });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  return { socket, served: socket.getPeerX509Certificate()?.fingerprint256 ?? "" };
}

describe("TLS and WSS listeners: reloading certificates without a restart", () => {
  let pki: TestPki;
  let bothCas: Buffer[];
  const open: SecureListener[] = [];
  beforeAll(() => {
    pki = makePki();
    bothCas = [pki.ca, pki.otherCa];
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  it("TLS: new connections get the new certificate; an established one keeps working on its session", async () => {
    const l = await listenTls({ host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, onConnection: echo() });
    open.push(l);
    const before = await connectTls(l.port, { ca: bothCas });
    expect(before.served).toBe(fingerprint(pki.serverCert));

    l.reload({ cert: pki.nextServerCert, key: pki.nextServerKey });

    const after = await connectTls(l.port, { ca: bothCas });
    expect(after.served).toBe(fingerprint(pki.nextServerCert));
    expect(await roundTrip(after.socket, "new")).toBe("new");
    expect(await roundTrip(before.socket, "still here")).toBe("still here");
    before.socket.destroy();
    after.socket.destroy();
  });

  it("TLS: still refuses TLS 1.1 after a reload (the fixed options survive setSecureContext)", async () => {
    const l = await listenTls({ host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, onConnection: echo() });
    open.push(l);
    l.reload({ cert: pki.nextServerCert, key: pki.nextServerKey });
    const s = tls.connect({ port: l.port, host: "127.0.0.1", ca: bothCas, maxVersion: "TLSv1.1", minVersion: "TLSv1" });
    const err = await new Promise<Error>((resolve) => s.once("error", resolve));
    expect(err.message).toMatch(/version|protocol/i);
  });

  it("TLS: a CA bundle given by a reload starts client-certificate requests; removing it stops them", async () => {
    const seen: TransportInfo[] = [];
    const l = await listenTls({ host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, onConnection: echo(seen) });
    open.push(l);
    const client = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };

    const none = await connectTls(l.port, client);
    expect(await roundTrip(none.socket, "a")).toBe("a");
    expect(seen[0]).toMatchObject({ authorized: false, peerCertificate: undefined });

    l.reload({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca });
    const asked = await connectTls(l.port, client);
    expect(await roundTrip(asked.socket, "b")).toBe("b");
    expect(seen[1]?.authorized).toBe(true);
    expect(new X509Certificate(seen[1]?.peerCertificate as Buffer).subject).toContain("CN=device-1");

    // A bundle that no longer holds the issuer: the certificate is seen but not authorized.
    l.reload({ cert: pki.serverCert, key: pki.serverKey, ca: pki.otherCa });
    const other = await connectTls(l.port, client);
    expect(await roundTrip(other.socket, "c")).toBe("c");
    expect(seen[2]?.authorized).toBe(false);
    expect(seen[2]?.peerCertificate).toBeInstanceOf(Buffer);

    l.reload({ cert: pki.serverCert, key: pki.serverKey });
    const again = await connectTls(l.port, client);
    expect(await roundTrip(again.socket, "d")).toBe("d");
    expect(seen[3]).toMatchObject({ authorized: false, peerCertificate: undefined });
    for (const s of [none, asked, other, again]) s.socket.destroy();
  });

  it("TLS: a key that does not match the certificate is refused and the previous material stays served", async () => {
    const l = await listenTls({ host: "127.0.0.1", port: 0, cert: pki.serverCert, key: pki.serverKey, onConnection: echo() });
    open.push(l);
    expect(() => l.reload({ cert: pki.nextServerCert, key: pki.serverKey })).toThrow();
    expect(() => l.reload({ cert: Buffer.from("not a certificate"), key: pki.serverKey })).toThrow();
    const c = await connectTls(l.port, { ca: bothCas });
    expect(c.served).toBe(fingerprint(pki.serverCert));
    expect(await roundTrip(c.socket, "ok")).toBe("ok");
    c.socket.destroy();
  });

  it("WSS: new connections get the new certificate; an open WebSocket keeps working", async () => {
    const l = await listenWs({
      host: "127.0.0.1", port: 0, path: "/mqtt", maxPayload: 1024, onConnection: echo(),
      tls: { cert: pki.serverCert, key: pki.serverKey },
    });
    open.push(l);
    const open_ = async () => {
      const ws = new WebSocket(`wss://127.0.0.1:${l.port}/mqtt`, ["mqtt"], { ca: bothCas });
      let served: string | undefined;
      ws.once("upgrade", (res) => (served = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.fingerprint256));
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      return { ws, served };
    };
    const echoOver = (ws: WebSocket, bytes: number[]) =>
      new Promise<number[]>((resolve) => {
        ws.once("message", (d: Buffer) => resolve([...d]));
        ws.send(Buffer.from(bytes));
      });

    const first = await open_();
    expect(first.served).toBe(fingerprint(pki.serverCert));
    l.reload({ cert: pki.nextServerCert, key: pki.nextServerKey });
    const second = await open_();
    expect(second.served).toBe(fingerprint(pki.nextServerCert));
    expect(await echoOver(first.ws, [0xc0, 0x00])).toEqual([0xc0, 0x00]);
    expect(await echoOver(second.ws, [0xd0, 0x00])).toEqual([0xd0, 0x00]);
    first.ws.close();
    second.ws.close();
  });
});
