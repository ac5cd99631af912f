import { once } from "node:events";
import tls from "node:tls";
import { serverListener } from "./tcp-listener.ts";
import type { ConnectionHandler, SecureListener, TlsMaterial } from "./types.ts";

export interface TlsListenerOptions extends TlsMaterial {
  host: string;
  port: number;
  /** Reject clients without a certificate signed by `ca`. */
  requireClientCert?: boolean;
  /**
   * Ask every client for a certificate even without a CA bundle (the
   * application recognises certificates itself, e.g. by fingerprint); the
   * request then names no CAs.
   */
  requestClientCert?: boolean;
  onConnection: ConnectionHandler;
}

/** `setSecureContext` resets every option it is not given, so the fixed ones go with each call. */
const FIXED = { minVersion: "TLSv1.2" } as const;

/**
 * MQTT over TLS. Whenever a CA bundle is given, clients are asked for a
 * certificate but not refused without one (unless `requireClientCert`): the
 * engine learns whether it chains to the bundle (`authorized`) and decides.
 */
export async function listenTls(opts: TlsListenerOptions): Promise<SecureListener> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    {
      ...FIXED,
      cert: opts.cert,
      key: opts.key,
      ca: opts.ca,
      requestCert: requestCert(opts, opts.ca),
      rejectUnauthorized: opts.requireClientCert === true,
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
  return {
    ...serverListener("tls", server, sockets),
    reload(material) {
      server.setSecureContext({ ...FIXED, cert: material.cert, key: material.key, ca: material.ca });
      // Not in the typings, but what Node reads for each new connection: a CA
      // bundle that appears later (a tenant's first CA) must start the requests.
      (server as tls.Server & { requestCert: boolean }).requestCert = requestCert(opts, material.ca);
    },
  };
}

function requestCert(opts: TlsListenerOptions, ca: Buffer | undefined): boolean {
  return opts.requestClientCert === true || opts.requireClientCert === true || ca !== undefined;
}
