import type { Duplex } from "node:stream";

/** Facts about the network connection handed to the engine with the stream. */
export interface TransportInfo {
  transport: "tcp" | "tls" | "ws" | "wss";
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** TLS: SNI host name the client asked for. */
  servername?: string;
  /** TLS: the client certificate, DER-encoded, when one was presented (verified only if `authorized`). */
  peerCertificate?: Buffer;
  /** TLS: the client certificate chains to the listener's CA bundle. */
  authorized?: boolean;
  [key: string]: unknown;
}

export type ConnectionHandler = (stream: Duplex, info: TransportInfo) => void;

export interface Listener {
  readonly name: string;
  /** The bound port (resolved when 0 was asked for). */
  readonly port: number;
  /** Stops accepting new connections (graceful shutdown); open ones stay until `close`. */
  stopAccepting(): void;
  close(): Promise<void>;
}

/** PEM certificate chain and key a TLS listener serves, and the CA bundle it checks client certificates against. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** PEM CA certificates, concatenated. */
  ca?: Buffer | undefined;
}

export interface SecureListener extends Listener {
  /**
   * Serves `material` to connections made from now on, without a restart;
   * established connections keep the session they negotiated. Throws (and
   * keeps serving the previous material) when the key does not match the
   * certificate or a PEM is unreadable.
   */
  reload(material: TlsMaterial): void;
}
