import { once } from "node:events";
import tls from "node:tls";
import { serverListener } from "./tcp-listener.ts";
import type { ConnectionHandler, Listener } from "./types.ts";

export interface TlsListenerOptions {
  host: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  /** CA bundle for client certificates; when set, clients may present one. */
  ca?: Buffer;
  /** Reject clients without a certificate signed by `ca`. */
  requireClientCert?: boolean;
  onConnection: ConnectionHandler;
}

/** MQTT over TLS. Client certificates are requested when a CA is configured. */
export async function listenTls(opts: TlsListenerOptions): Promise<Listener> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    {
      cert: opts.cert,
      key: opts.key,
      ca: opts.ca,
      requestCert: opts.ca !== undefined,
      rejectUnauthorized: opts.requireClientCert === true,
      minVersion: "TLSv1.2",
    },
    (socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      const peer = socket.getPeerCertificate(false);
      opts.onConnection(socket, {
        transport: "tls",
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        servername: (socket as tls.TLSSocket & { servername?: string }).servername || undefined,
        peerCertificate: peer && peer.raw ? peer.raw : undefined,
        authorized: socket.authorized,
      });
    },
  );
  server.listen(opts.port, opts.host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err))]);
  return serverListener("tls", server, sockets);
}
