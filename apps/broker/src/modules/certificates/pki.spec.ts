import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CsrRejectedError, createAuthority, fingerprint, issueFromCsr, issueWithNewKey } from "./pki.ts";

describe("pki", () => {
  it("creates a CA and issues a certificate from a CSR made by openssl; openssl verifies the chain", async () => {
    const ca = await createAuthority({ tenantSlug: "acme", name: "Acme devices", validityDays: 30 });
    const dir = mkdtempSync(path.join(tmpdir(), "halyard-pki-"));
    execFileSync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "d.key", "-out", "d.csr", "-subj", "/CN=someone-else"], { cwd: dir, stdio: "ignore" });
    const issued = await issueFromCsr({
      authorityPem: ca.certificatePem, authorityKeyPem: ca.privateKeyPem, tenantSlug: "acme", clientId: "sensor-7", validityDays: 10,
      csrPem: readFileSync(path.join(dir, "d.csr"), "utf8"),
    });
    // The subject is ours, not the CSR's.
    expect(issued.subject).toBe("CN=sensor-7, O=acme");
    writeFileSync(path.join(dir, "ca.pem"), ca.certificatePem);
    writeFileSync(path.join(dir, "d.pem"), issued.certificatePem);
    const out = execFileSync("openssl", ["verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "d.pem"], { cwd: dir }).toString();
    expect(out.trim()).toBe("d.pem: OK");
    expect(issued.fingerprintSha256).toBe(fingerprint(issued.certificatePem));
    expect(new X509Certificate(issued.certificatePem).checkIssued(new X509Certificate(ca.certificatePem))).toBe(true);
  });

  it("issues with a generated key; the key matches the certificate", async () => {
    const ca = await createAuthority({ tenantSlug: "acme", name: "CA", validityDays: 30 });
    const issued = await issueWithNewKey({ authorityPem: ca.certificatePem, authorityKeyPem: ca.privateKeyPem, tenantSlug: "acme", clientId: "d1", validityDays: 400 });
    const cert = new X509Certificate(issued.certificatePem);
    expect(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(issued.privateKeyPem))).toBe(true);
    // Clamped to the CA's lifetime.
    expect(new Date(cert.validTo).getTime()).toBeLessThanOrEqual(new Date(new X509Certificate(ca.certificatePem).validTo).getTime());
  });

  it("refuses garbage and CSRs whose signature does not verify", async () => {
    const ca = await createAuthority({ tenantSlug: "acme", name: "CA", validityDays: 30 });
    const base = { authorityPem: ca.certificatePem, authorityKeyPem: ca.privateKeyPem, tenantSlug: "acme", clientId: "d1", validityDays: 1 };
    await expect(issueFromCsr({ ...base, csrPem: "not a csr" })).rejects.toBeInstanceOf(CsrRejectedError);
    const dir = mkdtempSync(path.join(tmpdir(), "halyard-pki-"));
    execFileSync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "d.key", "-out", "d.csr", "-outform", "DER", "-subj", "/CN=x"], { cwd: dir, stdio: "ignore" });
    const der = readFileSync(path.join(dir, "d.csr"));
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0xff; // corrupt the signature
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(issueFromCsr({ ...base, csrPem: pem })).rejects.toBeInstanceOf(CsrRejectedError);
  });
});
