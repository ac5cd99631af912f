import net from "node:net";

/**
 * A port the OS considers free right now, shared by the end-to-end suites
 * for servers whose address must be known before they start (a broker
 * restarted on the same port, the console, a fake LDAP server).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
