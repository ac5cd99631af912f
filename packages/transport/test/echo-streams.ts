import type { Duplex } from "node:stream";
import type { TransportInfo } from "../src/index.ts";

/** A connection handler that records transport facts and echoes bytes, so tests see the stream is wired. */
export function echo(seen: TransportInfo[] = []) {
  return (stream: Duplex, info: TransportInfo) => {
    seen.push(info);
    stream.on("data", (d: Buffer) => stream.write(d));
    stream.on("error", () => undefined);
  };
}

/** Writes a payload and resolves with the first chunk that comes back. */
export function roundTrip(socket: Duplex, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once("data", (d: Buffer) => resolve(d.toString()));
    socket.once("error", reject);
    socket.write(payload);
  });
}
