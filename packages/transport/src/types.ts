import type { Duplex } from "node:stream";

/** Facts about the network connection handed to the engine with the stream. */
export interface TransportInfo {
  transport: "tcp" | "tls" | "ws" | "wss";
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** TLS: SNI host name the client asked for. */
  servername?: string;
  /** TLS: the verified client certificate, DER-encoded, when one was presented. */
  peerCertificate?: Buffer;
  authorized?: boolean;
  [key: string]: unknown;
}

export type ConnectionHandler = (stream: Duplex, info: TransportInfo) => void;

export interface Listener {
  readonly name: string;
  /** The bound port (resolved when 0 was asked for). */
  readonly port: number;
  close(): Promise<void>;
}
