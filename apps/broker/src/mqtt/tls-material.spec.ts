import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { SecureListener, TlsMaterial } from "@halyard/transport";
import pino from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAuthority, type AuthorityMaterial } from "../modules/certificates/pki.ts";
import { TlsMaterialSource } from "./tls-material.ts";

/** A self-signed certificate and its key serve as well as any server pair for these checks. */
const pair = (name: string) => createAuthority({ tenantSlug: "test", name, validityDays: 1 });

function recorder(): SecureListener & { reloads: TlsMaterial[] } {
  const reloads: TlsMaterial[] = [];
  return { name: "fake", port: 0, stopAccepting: () => undefined, close: async () => undefined, reload: (m) => void reloads.push(m), reloads };
}

async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("TlsMaterialSource", () => {
  let a: AuthorityMaterial;
  let b: AuthorityMaterial;
  let tenantCa: AuthorityMaterial;
  let dir: string;
  let sources: TlsMaterialSource[] = [];
  const files = () => ({ certFile: path.join(dir, "tls.crt"), keyFile: path.join(dir, "tls.key"), caFile: undefined as string | undefined });
  const write = (m: AuthorityMaterial) => {
    writeFileSync(files().certFile, m.certificatePem);
    writeFileSync(files().keyFile, m.privateKeyPem);
  };
  const source = (caFile?: string) => {
    const s = new TlsMaterialSource({ ...files(), caFile }, pino({ level: "silent" }), 50);
    sources.push(s);
    return s;
  };

  beforeAll(async () => {
    [a, b, tenantCa] = await Promise.all([pair("a"), pair("b"), pair("tenant ca")]);
  });
  afterEach(() => {
    for (const s of sources) s.close();
    sources = [];
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the trust bundle is exactly the configured CA file (no tenant CA ever enters it), and absent without one", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-tls-"));
    write(a);
    expect((await source().load()).ca).toBeUndefined();
    const caFile = path.join(dir, "ca.pem");
    writeFileSync(caFile, b.certificatePem);
    expect((await source(caFile).load()).ca?.toString()).toBe(b.certificatePem);
  });

  it("refuses to start with an unreadable file or a key that is not the certificate's, naming the problem", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-tls-"));
    await expect(source().load()).rejects.toThrow(/cannot read .*tls\.crt/);
    writeFileSync(files().certFile, a.certificatePem);
    writeFileSync(files().keyFile, b.privateKeyPem);
    await expect(source().load()).rejects.toThrow(/mismatch/i);
  });

  it("setFiles (a configuration reload naming other files) serves the new pair and watches its folder", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-tls-"));
    write(a);
    const s = source();
    await s.load();
    s.watch();
    const l = recorder();
    s.serve(l);
    const other = mkdtempSync(path.join(tmpdir(), "halyard-tls-other-"));
    try {
      const next = { certFile: path.join(other, "b.crt"), keyFile: path.join(other, "b.key"), caFile: undefined };
      writeFileSync(next.certFile, b.certificatePem);
      writeFileSync(next.keyFile, b.privateKeyPem);
      s.setFiles(next);
      await s.settled();
      expect(l.reloads.map((m) => m.cert.toString())).toEqual([b.certificatePem]);
      // The new folder is watched: a change there is picked up without another reload.
      writeFileSync(next.certFile, a.certificatePem);
      writeFileSync(next.keyFile, a.privateKeyPem);
      await eventually(() => l.reloads.length === 2);
      expect(l.reloads[1]?.cert.toString()).toBe(a.certificatePem);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("refresh reloads the listeners when the CA file changed, and not when nothing did", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-tls-"));
    write(a);
    const caFile = path.join(dir, "ca.pem");
    writeFileSync(caFile, b.certificatePem);
    const s = source(caFile);
    await s.load();
    const l = recorder();
    s.serve(l);
    s.refresh();
    await s.settled();
    expect(l.reloads).toHaveLength(0);
    writeFileSync(caFile, tenantCa.certificatePem);
    s.refresh();
    await s.settled();
    expect(l.reloads).toHaveLength(1);
    expect(l.reloads[0]?.ca?.toString()).toBe(tenantCa.certificatePem);
  });

  it("watches the files: a replaced pair is served; a half-written (mismatched) one is not", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-tls-"));
    write(a);
    const s = source();
    await s.load();
    const l = recorder();
    s.serve(l);
    s.watch();

    // The key alone: no longer matches the certificate, so nothing is reloaded.
    writeFileSync(`${files().keyFile}.tmp`, b.privateKeyPem);
    renameSync(`${files().keyFile}.tmp`, files().keyFile);
    await new Promise((r) => setTimeout(r, 300));
    await s.settled();
    expect(l.reloads).toHaveLength(0);

    writeFileSync(`${files().certFile}.tmp`, b.certificatePem);
    renameSync(`${files().certFile}.tmp`, files().certFile);
    await eventually(() => l.reloads.length === 1);
    expect(l.reloads[0]?.cert.toString()).toBe(b.certificatePem);
    expect(l.reloads[0]?.key.toString()).toBe(b.privateKeyPem);
  });

  it("a listener that throws on reload does not stop the others", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-tls-"));
    write(a);
    const caFile = path.join(dir, "ca.pem");
    writeFileSync(caFile, b.certificatePem);
    const s = source(caFile);
    await s.load();
    const broken: SecureListener = { name: "broken", port: 0, stopAccepting: () => undefined, close: async () => undefined, reload: () => { throw new Error("no"); } };
    const l = recorder();
    s.serve(broken, l);
    writeFileSync(caFile, tenantCa.certificatePem);
    s.refresh();
    await s.settled();
    expect(l.reloads).toHaveLength(1);
  });
});
