// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata polyfill.
import "reflect-metadata";
import { createHash, randomBytes, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

/**
 * Certificate operations for tenant CAs and device certificates, with
 * @peculiar/x509 over Node's WebCrypto (no OpenSSL process, no native code).
 * Keys are ECDSA P-256: small, fast, and accepted by every TLS stack devices use.
 *
 * A device certificate's subject is chosen here, never copied from the CSR:
 * CN is the device's client id and O the tenant slug, so a device cannot ask
 * for another identity by writing it into its request.
 */

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALG: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGN_ALG: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY_MS = 86_400_000;

export interface IssuedMaterial {
  certificatePem: string;
  serialNumber: string;
  fingerprintSha256: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export interface AuthorityMaterial extends IssuedMaterial {
  privateKeyPem: string;
}

export class CsrRejectedError extends Error {}

export function fingerprint(pem: string): string {
  const cert = new x509.X509Certificate(pem);
  return createHash("sha256").update(Buffer.from(cert.rawData)).digest("hex");
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // positive INTEGER (RFC 5280 4.1.2.2)
  return bytes.toString("hex");
}

function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, "\\$1");
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64").match(/.{1,64}/g)?.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  return crypto.subtle.importKey("pkcs8", der, KEY_ALG, false, ["sign"]);
}

function material(cert: x509.X509Certificate): IssuedMaterial {
  return {
    certificatePem: cert.toString("pem"),
    serialNumber: cert.serialNumber,
    fingerprintSha256: createHash("sha256").update(Buffer.from(cert.rawData)).digest("hex"),
    subject: cert.subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

export async function createAuthority(opts: { tenantSlug: string; name: string; validityDays: number; now?: Date }): Promise<AuthorityMaterial> {
  const keys = (await crypto.subtle.generateKey(KEY_ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const notBefore = new Date((opts.now ?? new Date()).getTime() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${escapeRdn(opts.name)}, O=${escapeRdn(opts.tenantSlug)}, OU=Halyard device CA`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + opts.validityDays * DAY_MS),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { ...material(cert), privateKeyPem: await exportKeyPem(keys.privateKey) };
}

export interface IssueRequest {
  authorityPem: string;
  authorityKeyPem: string;
  tenantSlug: string;
  clientId: string;
  validityDays: number;
  now?: Date;
}

async function issue(req: IssueRequest, publicKey: CryptoKey): Promise<IssuedMaterial> {
  const ca = new x509.X509Certificate(req.authorityPem);
  const notBefore = new Date((req.now ?? new Date()).getTime() - 60_000);
  let notAfter = new Date(notBefore.getTime() + req.validityDays * DAY_MS);
  if (notAfter > ca.notAfter) notAfter = ca.notAfter; // never outlive the CA
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${escapeRdn(req.clientId)}, O=${escapeRdn(req.tenantSlug)}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey,
    signingKey: await importKeyPem(req.authorityKeyPem),
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return material(cert);
}

/** Issues a client certificate for the public key in a PEM CSR, after checking the CSR's own signature. */
export async function issueFromCsr(req: IssueRequest & { csrPem: string }): Promise<IssuedMaterial> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(req.csrPem);
  } catch {
    throw new CsrRejectedError("not a PEM-encoded PKCS#10 certificate request");
  }
  if (!(await csr.verify())) throw new CsrRejectedError("the request's signature does not match its public key");
  let publicKey: CryptoKey;
  try {
    publicKey = await csr.publicKey.export(crypto);
  } catch {
    throw new CsrRejectedError("unsupported public key; use EC P-256/P-384 or RSA 2048+");
  }
  return issue(req, publicKey);
}

/** Generates a key pair and issues its certificate; the private key is returned to be shown once. */
export async function issueWithNewKey(req: IssueRequest): Promise<IssuedMaterial & { privateKeyPem: string }> {
  const keys = (await crypto.subtle.generateKey(KEY_ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const issued = await issue(req, keys.publicKey);
  return { ...issued, privateKeyPem: await exportKeyPem(keys.privateKey) };
}
