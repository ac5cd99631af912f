import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TestPki {
  dir: string;
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A client certificate from an unrelated CA. */
  strangerCert: Buffer;
  strangerKey: Buffer;
  /** A second server certificate (same names, signed by `otherCa`), to reload to. */
  otherCa: Buffer;
  nextServerCert: Buffer;
  nextServerKey: Buffer;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

/** A CA, a server certificate for 127.0.0.1/localhost and client certificates, made with the openssl CLI. */
export function makePki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), "halyard-pki-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA"], dir);
  openssl(["req", "-x509", ...ec, "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Other CA"], dir);
  writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:acme.mqtt.test\n");
  const issue = (name: string, cn: string, ca: string, ext?: string) => {
    openssl(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
    openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", ...(ext ? ["-extfile", ext] : [])],
      dir,
    );
  };
  issue("server", "localhost", "ca", "server.ext");
  issue("client", "device-1", "ca");
  issue("stranger", "device-1", "other-ca");
  issue("server-next", "localhost", "other-ca", "server.ext");
  const read = (f: string) => readFileSync(path.join(dir, f));
  return {
    dir,
    ca: read("ca.pem"),
    serverCert: read("server.pem"),
    serverKey: read("server.key"),
    clientCert: read("client.pem"),
    clientKey: read("client.key"),
    strangerCert: read("stranger.pem"),
    strangerKey: read("stranger.key"),
    otherCa: read("other-ca.pem"),
    nextServerCert: read("server-next.pem"),
    nextServerKey: read("server-next.key"),
  };
}
