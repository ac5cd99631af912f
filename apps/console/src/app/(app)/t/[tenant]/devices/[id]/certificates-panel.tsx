"use client";
/**
 * A device's X.509 client certificates, issued by one of the tenant's CAs
 * either from the device's own CSR (its key never leaves it: preferred) or
 * with a key pair the broker generates, whose private key is returned once
 * and only held here, in this component's state, until dismissed.
 */
import Link from "next/link";
import { useActionState, useState } from "react";
import { ConfirmSubmit, CopyButton, SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { fmtDate } from "@/lib/format.ts";
import { idleState } from "@/lib/idle.ts";
import type { Authority, Certificate, IssuedCertificate } from "@/lib/types.ts";
import { issueCertificate, revokeCertificate } from "../actions.ts";
import { DownloadButton, echoed, Field, OnceCard, OnceSecret, OtherErrors, Pill, Snippet, Subform, useShownOnce } from "@/components/parts/client.tsx";
import { Notices, useNotify, withNotice } from "@/components/parts/notices.tsx";
import { certificateSnippets, fileStem, type Endpoint } from "../snippets.ts";
import { ActionsHead, DataTable } from "@/components/table.tsx";

export type CertificateStatus = "valid" | "revoked" | "expired" | "not_yet_valid";
export type CertificateRow = Certificate & { status: CertificateStatus; authorityName: string };

interface Ctx {
  tenant: string;
  deviceId: string;
  clientId: string;
  endpoint: Endpoint;
}

const REASONS: [string, string][] = [
  ["unspecified", "Unspecified"],
  ["key_compromise", "Key compromise"],
  ["superseded", "Superseded"],
  ["cessation_of_operation", "Cessation of operation"],
  ["affiliation_changed", "Affiliation changed"],
  ["ca_compromise", "CA compromise"],
];

const reasonLabel = new Map(REASONS);

const statusBadge: Record<CertificateStatus, { tone?: "ok" | "warn" | "bad"; label: string }> = {
  valid: { tone: "ok", label: "Valid" },
  revoked: { tone: "bad", label: "Revoked" },
  expired: { tone: "warn", label: "Expired" },
  not_yet_valid: { tone: "warn", label: "Not yet valid" },
};

function Ids({ ctx }: { ctx: Ctx }) {
  return (
    <>
      <input type="hidden" name="tenant" value={ctx.tenant} />
      <input type="hidden" name="id" value={ctx.deviceId} />
    </>
  );
}

export function pemHref(ctx: { tenant: string; deviceId: string }, certificateId: string): string {
  return `/t/${ctx.tenant}/devices/${ctx.deviceId}/certificates/${certificateId}/pem`;
}

function Issued({ ctx, issued, onDone }: { ctx: Ctx; issued: IssuedCertificate; onDone: () => void }) {
  const stem = fileStem(ctx.clientId);
  const certFile = `${stem}.crt.pem`;
  const keyFile = issued.privateKeyPem ? `${stem}.key.pem` : `${stem}.key`;
  const s = certificateSnippets(ctx.endpoint, { clientId: ctx.clientId, certFile, keyFile });
  return (
    <OnceCard id="issued-certificate" title="Certificate issued" done={issued.privateKeyPem ? "I have saved the private key" : "Done"} onDone={onDone}>
      <dl className="facts">
        <dt>Subject</dt>
        <dd className="mono">{issued.subject}</dd>
        <dt>Serial</dt>
        <dd className="mono">{issued.serialNumber}</dd>
        <dt>Valid</dt>
        <dd>
          {fmtDate(issued.notBefore)} – {fmtDate(issued.notAfter)}
        </dd>
      </dl>
      {issued.privateKeyPem ? (
        <>
          <OnceSecret label="Private key" value={issued.privateKeyPem}>
            This private key is shown only once. Download or copy it now: the broker does not keep it and cannot show it again.
          </OnceSecret>
          <div className="row">
            <DownloadButton text={issued.privateKeyPem} filename={keyFile} className="primary">
              Download private key
            </DownloadButton>
          </div>
        </>
      ) : (
        <p className="small muted">The private key stayed on the device that made the CSR; use it with this certificate.</p>
      )}
      <div className="row">
        <span className="small muted">Certificate (PEM)</span>
        <span className="spacer" />
        <CopyButton value={issued.certificatePem} label="Copy certificate" />
        <DownloadButton text={issued.certificatePem} filename={certFile}>
          Download certificate
        </DownloadButton>
      </div>
      <pre className="pem">
        <code>{issued.certificatePem}</code>
      </pre>
      <p className="small muted">
        Connect over TLS on port {ctx.endpoint.tlsPort}. <code>broker-ca.pem</code> is the CA that signed the broker&apos;s own TLS certificate (ask your
        platform operator); the certificate alone names the tenant and the device, so no username or password is needed.
      </p>
      <Snippet title="mosquitto_pub (TLS)" code={s.mosquitto} />
      <Snippet title="MQTT.js (TLS)" code={s.mqttjs} />
    </OnceCard>
  );
}

type IssueState = Awaited<ReturnType<typeof issueCertificate>>;

/** The action state lives in the panel, which shows the result from it once the action has fully committed. */
function IssueForm({ ctx, authorities, state, action }: { ctx: Ctx; authorities: Pick<Authority, "id" | "name" | "notAfter">[]; state: IssueState; action: (form: FormData) => void }) {
  const [mode, setMode] = useState<"generate" | "csr">("generate");
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <Subform id="issue-certificate" title="Issue a certificate" action={action} formRef={ref} state={state} failuresOnly>
      <Ids ctx={ctx} />
      <div className="grid-2">
        <Field id="cert-authority" label="Certificate authority" state={state} name="authorityId">
          <select id="cert-authority" name="authorityId" required key={v("authorityId")} defaultValue={v("authorityId", authorities.length === 1 ? (authorities[0]?.id ?? "") : "")}>
            {authorities.length === 1 ? null : (
              <option value="" disabled>
                Choose a CA…
              </option>
            )}
            {authorities.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} (until {a.notAfter.slice(0, 10)})
              </option>
            ))}
          </select>
        </Field>
        <Field id="cert-days" label="Validity (days)" state={state} name="validityDays">
          <input id="cert-days" name="validityDays" type="number" min={1} max={3650} defaultValue={v("validityDays", "365")} required />
        </Field>
      </div>
      {/* form="": the radios belong to no form, so React's reset of the form after each action cannot flip them
          back while the CSR box stays; the action tells the mode by whether the CSR box was sent. */}
      <fieldset className="choice">
        <legend>Key pair</legend>
        <label className="check">
          <input type="radio" name="key-mode" form="" value="generate" defaultChecked={mode === "generate"} onChange={() => setMode("generate")} /> Generate a key pair
          <span className="hint-inline"> — the broker makes the key and returns it once</span>
        </label>
        <label className="check">
          <input type="radio" name="key-mode" form="" value="csr" defaultChecked={mode === "csr"} onChange={() => setMode("csr")} /> Use a CSR from the device
          <span className="hint-inline"> — the private key never leaves the device</span>
        </label>
      </fieldset>
      {mode === "csr" ? (
        <Field
          id="cert-csr"
          label="CSR (PEM)"
          state={state}
          name="csrPem"
          hint={
            <>
              For example <code>openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {fileStem(ctx.clientId)}.key -out {fileStem(ctx.clientId)}.csr -subj &quot;/CN={ctx.clientId}&quot;</code>. The
              subject is set by the CA from the device; only the public key is taken from the CSR.
            </>
          }
        >
          <textarea id="cert-csr" name="csrPem" defaultValue={v("csrPem")} required maxLength={16_384} placeholder={"-----BEGIN CERTIFICATE REQUEST-----\n…\n-----END CERTIFICATE REQUEST-----"} aria-describedby="cert-csr-hint" />
        </Field>
      ) : null}
      <OtherErrors state={state} known={["authorityId", "validityDays", "csrPem"]} />
      <SubmitButton pendingText="Issuing…">Issue certificate</SubmitButton>
    </Subform>
  );
}

function RevokeCertificateForm({ ctx, certificate }: { ctx: Ctx; certificate: CertificateRow }) {
  const notify = useNotify();
  const [open, setOpen] = useState(false);
  const [, action] = useActionState(withNotice(notify, revokeCertificate), idleState);
  const selectId = `revoke-reason-${certificate.id}`;
  if (!open) {
    return (
      <button type="button" className="small danger" aria-expanded={false} onClick={() => setOpen(true)}>
        Revoke<span className="sr-only"> certificate {certificate.serialNumber}</span>
      </button>
    );
  }
  return (
    <form action={action} className="inline-form">
      <Ids ctx={ctx} />
      <input type="hidden" name="certificateId" value={certificate.id} />
      <div className="field">
        <label htmlFor={selectId}>Reason</label>
        <select id={selectId} name="reason" defaultValue="unspecified">
          {REASONS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </div>
      <ConfirmSubmit question={`Revoke certificate ${certificate.serialNumber}? Devices using it are disconnected and it cannot be restored.`}>Revoke certificate</ConfirmSubmit>
      <button type="button" className="small" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}

export function CertificatesPanel({
  tenant,
  deviceId,
  clientId,
  endpoint,
  certificates,
  total,
  authorities,
  canEdit,
}: Ctx & { certificates: CertificateRow[]; total: number; authorities: Pick<Authority, "id" | "name" | "notAfter">[]; canEdit: boolean }) {
  const ctx: Ctx = { tenant, deviceId, clientId, endpoint };
  const [state, action] = useActionState(issueCertificate, idleState as IssueState);
  const [issued, dismiss] = useShownOnce(state);
  return (
    <Notices>
      {issued ? <Issued ctx={ctx} issued={issued} onDone={dismiss} /> : null}
      {certificates.length === 0 ? (
        <p className="muted small">No certificates. {canEdit ? "Issue one below to let the device log in with mutual TLS." : ""}</p>
      ) : (
        <DataTable
          caption="Certificates"
          head={
            <>
              <th scope="col">Certificate</th>
              <th scope="col">Status</th>
              <th scope="col">Valid until</th>
              <th scope="col" className="hide-narrow">Fingerprint (SHA-256)</th>
              <ActionsHead />
            </>
          }
          after={total > certificates.length ? <p className="small muted pad">Showing {certificates.length} of {total} certificates.</p> : null}
        >
          {certificates.map((c) => (
            <tr key={c.id}>
              <td>
                <div className="mono small">{c.subject}</div>
                <div className="muted small">
                  Serial <span className="mono">{c.serialNumber}</span> · {c.authorityName}
                </div>
              </td>
              <td>
                <Pill tone={statusBadge[c.status].tone}>{statusBadge[c.status].label}</Pill>
                {c.revokedAt ? (
                  <div className="muted small">
                    {reasonLabel.get(c.revocationReason ?? "unspecified") ?? c.revocationReason}, {fmtDate(c.revokedAt)}
                  </div>
                ) : null}
              </td>
              <td className="small">{fmtDate(c.notAfter)}</td>
              <td className="hide-narrow mono small" title={c.fingerprintSha256}>
                {c.fingerprintSha256.slice(0, 23)}…
              </td>
              <td>
                <div className="row nowrap">
                  <a className="button small" href={pemHref(ctx, c.id)} download>
                    Download PEM<span className="sr-only"> of certificate {c.serialNumber}</span>
                  </a>
                  {canEdit && c.status !== "revoked" ? <RevokeCertificateForm ctx={ctx} certificate={c} /> : null}
                </div>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {canEdit ? (
        authorities.length > 0 ? (
          <IssueForm ctx={ctx} authorities={authorities} state={state} action={action} />
        ) : (
          <div className="alert info">
            To issue certificates the tenant needs a certificate authority. A tenant admin can create one in{" "}
            <Link href={`/t/${tenant}/settings#authorities`}>Settings</Link>.
          </div>
        )
      ) : null}
    </Notices>
  );
}
