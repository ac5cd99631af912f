import { once } from "node:events";
import net from "node:net";
import type { ConnectionHandler, Listener } from "./types.ts";

export interface TcpListenerOptions {
  host: string;
  port: number;
  onConnection: ConnectionHandler;
}

/** Plain MQTT over TCP. Nagle is off: MQTT frames are small and latency matters. */
export async function listenTcp(opts: TcpListenerOptions): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    opts.onConnection(socket, {
      transport: "tcp",
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
    });
  });
  server.listen(opts.port, opts.host);
  await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err))]);
  return serverListener("tcp", server, sockets);
}

export function serverListener(name: string, server: net.Server, sockets: Set<{ destroy(): void }>): Listener {
  return {
    name,
    port: (server.address() as net.AddressInfo).port,
    stopAccepting: () => {
      if (server.listening) server.close();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
