export type { ConnectionHandler, Listener, SecureListener, TlsMaterial, TransportInfo } from "./types.ts";
export { listenTcp, type TcpListenerOptions } from "./tcp-listener.ts";
export { listenTls, type TlsListenerOptions } from "./tls-listener.ts";
export { listenWs, type WsListenerOptions } from "./ws-listener.ts";
