import { once } from "node:events";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import type tls from "node:tls";
import { createWebSocketStream, WebSocketServer } from "ws";
import { serverListener } from "./tcp-listener.ts";
import type { ConnectionHandler, Listener, SecureListener, TlsMaterial } from "./types.ts";

export interface WsListenerOptions {
  host: string;
  port: number;
  /** HTTP path of the endpoint, `/mqtt` by convention. */
  path: string;
  /** Serve WSS when a certificate is given. */
  tls?: TlsMaterial;
  /**
   * WSS: ask every client for a certificate (none required, no CA names sent),
   * so devices can log in with a client certificate over WSS as over TLS.
   */
  requestClientCert?: boolean;
  /** Largest WebSocket message accepted (bounds memory before MQTT sees the bytes). */
  maxPayload: number;
  onConnection: ConnectionHandler;
}

/**
 * MQTT over WebSocket [MQTT-6.0.0]: binary frames carry the MQTT byte stream
 * and the `mqtt` subprotocol is selected [MQTT-6.0.0-3]. The socket is
 * adapted to a duplex stream so the engine sees the same thing as over TCP.
 * With `tls` it is WSS, and its certificate can be reloaded.
 */
export async function listenWs(opts: WsListenerOptions & { tls: TlsMaterial }): Promise<SecureListener>;
export async function listenWs(opts: WsListenerOptions): Promise<Listener>;
export async function listenWs(opts: WsListenerOptions): Promise<Listener | SecureListener> {
  const server = opts.tls
    ? https.createServer({
        cert: opts.tls.cert,
        key: opts.tls.key,
        ca: opts.tls.ca,
        minVersion: "TLSv1.2",
        requestCert: opts.requestClientCert === true,
        rejectUnauthorized: false,
      })
    : http.createServer();
  server.on("request", (_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("MQTT over WebSocket: upgrade required\n");
  });
  const wss = new WebSocketServer({
    server,
    path: opts.path,
    maxPayload: opts.maxPayload,
    perMessageDeflate: false,
    handleProtocols: (protocols) => {
      for (const p of ["mqtt", "mqttv3.1"]) if (protocols.has(p)) return p;
      return false;
    },
  });
  const transport = opts.tls ? "wss" : "ws";
  const sockets = new Set<{ destroy(): void }>();
  wss.on("connection", (ws, req) => {
    const stream = createWebSocketStream(ws);
    const socket = req.socket as net.Socket;
    socket.setNoDelay(true);
    sockets.add(stream);
    stream.once("close", () => sockets.delete(stream));
    const secure = opts.tls ? (socket as tls.TLSSocket) : undefined;
    const peer = secure?.getPeerCertificate(false);
    // createWebSocketStream surfaces protocol errors as stream errors; the engine closes on them.
    opts.onConnection(stream, {
      transport,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      ...(secure
        ? {
            servername: (secure as tls.TLSSocket & { servername?: string }).servername || undefined,
            peerCertificate: peer && peer.raw ? peer.raw : undefined,
            authorized: secure.authorized,
          }
        : {}),
    });
  });
  server.listen(opts.port, opts.host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err))]);
  const base = serverListener(transport, server, sockets);
  const listener: Listener = {
    ...base,
    close: async () => {
      wss.close();
      server.closeAllConnections?.();
      await base.close();
    },
  };
  if (!(server instanceof https.Server)) return listener;
  return {
    ...listener,
    reload: (material: TlsMaterial) => server.setSecureContext({ minVersion: "TLSv1.2", cert: material.cert, key: material.key, ca: material.ca }),
  };
}
