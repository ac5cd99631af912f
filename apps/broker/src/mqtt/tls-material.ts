import { X509Certificate } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import tls from "node:tls";
import type { SecureListener, TlsMaterial } from "@halyard/transport";
import type { Logger } from "pino";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Extra CA bundle trusted for client certificates, besides the tenants' CAs. */
  caFile: string | undefined;
}

/** Editors and secret managers write a file in steps; wait for them to finish before reading. */
const FILE_SETTLE_MS = 200;

/**
 * The certificate, key and client-certificate trust bundle of the TLS and WSS
 * listeners, kept current without a restart.
 *
 * Files are watched through their directories, not themselves: an editor
 * that saves by writing a new file and renaming it over the old one, or a
 * Kubernetes secret volume that swaps a symlinked directory, replaces the
 * inode a file watch would be stuck on. Any event in a directory re-reads
 * the files after a short pause, and the listeners are reloaded only when
 * something actually changed and the key matches the certificate; a
 * half-written pair is logged and the previous one stays served.
 *
 * The trust bundle is the configured CA file only. Tenant CAs are never put
 * in it: a TLS server names its trusted CAs to every client it asks for a
 * certificate, which would list every tenant to anyone who connects (and
 * grow past what small TLS stacks accept). Device certificates are
 * recognised by fingerprint instead (TenantHooks).
 */
export class TlsMaterialSource {
  private current: TlsMaterial | undefined;
  private readonly listeners: SecureListener[] = [];
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private closed = false;

  constructor(
    private files: TlsFiles,
    /** PEM certificates of the tenant CAs to trust now. */
    private readonly logger: Logger,
    private readonly settleMs = FILE_SETTLE_MS,
  ) {}

  /** Reads everything once; throws with the file's name when one is unreadable or the pair does not match. */
  async load(): Promise<TlsMaterial> {
    const material = await this.read();
    check(material);
    this.current = material;
    this.logger.info({ certificate: describe(material.cert) }, "tls certificate loaded");
    return material;
  }

  /** Listeners to reload when the material changes. */
  serve(...listeners: SecureListener[]): void {
    this.listeners.push(...listeners);
  }

  /**
   * Other file names (a configuration reload): watched from now on and read
   * at once; applied, or logged and ignored, exactly like a change of the files.
   */
  setFiles(files: TlsFiles): void {
    if (this.closed) return;
    this.files = files;
    for (const w of this.watchers.splice(0)) w.close();
    this.watch();
    this.refresh();
  }

  watch(): void {
    const { certFile, keyFile, caFile } = this.files;
    const dirs = new Set([certFile, keyFile, ...(caFile ? [caFile] : [])].map((f) => path.dirname(path.resolve(f))));
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.refresh(this.settleMs));
        w.on("error", (err) => this.logger.warn({ err, dir }, "tls files: watching stopped; changes need a restart"));
        this.watchers.push(w);
      } catch (err) {
        this.logger.warn({ err, dir }, "tls files: cannot watch; changes need a restart");
      }
    }
  }

  /**
   * Re-reads files and tenant CAs after `delayMs` (coalescing calls made
   * meanwhile) and reloads the listeners if anything changed. Rebuilds run
   * one at a time; a request during one runs once more afterwards, so a CA
   * created while the bundle is being read is not missed.
   */
  refresh(delayMs = 0): void {
    if (this.closed) return;
    // Immediate requests leave a pending file timer alone: the files may still be mid-write.
    if (delayMs <= 0) return this.enqueue();
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.enqueue();
    }, delayMs);
    this.timer.unref();
  }

  /** Resolves once every refresh asked for so far has been applied (or failed and been logged). */
  async settled(): Promise<void> {
    while (this.timer) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.chain;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.watchers.splice(0)) w.close();
  }

  private enqueue(): void {
    if (this.queued) return;
    this.queued = true;
    this.chain = this.chain.then(() => {
      this.queued = false;
      return this.rebuild();
    });
  }

  private async rebuild(): Promise<void> {
    if (this.closed) return;
    let next: TlsMaterial;
    try {
      next = await this.read();
      check(next);
    } catch (err) {
      this.logger.warn({ err }, "tls material not reloaded; the previous certificate stays in use");
      return;
    }
    const prev = this.current;
    if (prev && same(prev.cert, next.cert) && same(prev.key, next.key) && same(prev.ca, next.ca)) return;
    for (const l of this.listeners) {
      try {
        l.reload(next);
      } catch (err) {
        this.logger.error({ err, listener: l.name }, "tls listener refused the new material; it keeps the previous one");
      }
    }
    this.current = next;
    const certChanged = !prev || !same(prev.cert, next.cert);
    this.logger.info({ ...(certChanged ? { certificate: describe(next.cert) } : {}), trustChanged: !prev || !same(prev.ca, next.ca) }, "tls material reloaded");
  }

  private async read(): Promise<TlsMaterial> {
    const { certFile, keyFile, caFile } = this.files;
    const [cert, key, ca] = await Promise.all([readNamed(certFile), readNamed(keyFile), caFile ? readNamed(caFile) : undefined]);
    return { cert, key, ca };
  }
}

async function readNamed(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Throws as the listeners would (for example "key values mismatch"), before any is touched. */
function check(material: TlsMaterial): void {
  tls.createSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
}

function same(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

function describe(certPem: Buffer): Record<string, string> {
  try {
    const c = new X509Certificate(certPem);
    return { subject: c.subject, fingerprint256: c.fingerprint256, validTo: c.validTo };
  } catch {
    return {};
  }
}
