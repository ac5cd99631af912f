"use client";
import Link from "next/link";
import { startTransition, useActionState, useRef, useState, type FormEvent } from "react";
import type { z } from "zod";
import type { schemas } from "@halyard/api-contract";
import { ActionMessage } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import { checkAccess } from "./actions.ts";

/**
 * The access checker's form and verdict. The form is submitted through
 * onSubmit rather than the `action` prop: React resets a form after an
 * action, and controlled selects would then show their first option while
 * holding another value. The verdict says when the inputs changed since.
 */

type AccessCheckResult = z.infer<typeof schemas.accessCheckResult>;
type CheckAction = "publish" | "subscribe" | "deliver";

export interface DeviceOption {
  id: string;
  clientId: string;
  description: string | null;
}

const verbs: Record<CheckAction, string> = {
  publish: "publish to",
  subscribe: "subscribe to",
  deliver: "receive messages on",
};

const ruleActions: Record<string, string> = { both: "publish & subscribe", publish: "publish", subscribe: "subscribe" };

/** A hint while typing; the broker's own check (400 with the `topic` path) stays the authority. */
function topicHint(action: CheckAction, topic: string): string | undefined {
  if (topic === "") return undefined;
  if (action !== "subscribe" && /[+#]/.test(topic)) return `A ${action === "publish" ? "publish" : "delivery"} topic is a topic name: wildcards (+ and #) are only for subscribe.`;
  if (action === "subscribe") {
    const filter = topic.startsWith("$share/") ? topic.split("/").slice(2).join("/") : topic;
    const levels = filter.split("/");
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i] as string;
      if (l.includes("#") && (l !== "#" || i !== levels.length - 1)) return "# must be a whole level, and the last one (e.g. sensors/#).";
      if (l.includes("+") && l !== "+") return "+ must be a whole level (e.g. sensors/+/temp).";
    }
  }
  return undefined;
}

export function AccessForm({ tenant, devices, initialDevice }: { tenant: string; devices: DeviceOption[]; initialDevice?: string }) {
  const [state, formAction, pending] = useActionState(checkAccess, idleState);
  const [deviceId, setDeviceId] = useState(initialDevice ?? (devices.length === 1 ? (devices[0]?.id ?? "") : ""));
  const [action, setAction] = useState<CheckAction>("publish");
  const [topic, setTopic] = useState("");
  const [username, setUsername] = useState("");
  const checked = useRef<string>("");
  const current = JSON.stringify([deviceId, action, topic, username]);
  const result = state.ok ? (state as { data?: AccessCheckResult }).data : undefined;
  const hint = topicHint(action, topic);
  const errors = state.ok ? {} : (state.fieldErrors ?? {});

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    checked.current = current;
    const data = new FormData(e.currentTarget);
    startTransition(() => formAction(data));
  }

  return (
    <div className="stack">
      <form onSubmit={onSubmit} className="card" aria-labelledby="check-heading">
        <h2 id="check-heading">What would the broker do?</h2>
        <input type="hidden" name="tenant" value={tenant} />
        <div className="grid-2">
          <div className="field">
            <label htmlFor="check-device">Device</label>
            <select
              id="check-device"
              name="deviceId"
              value={deviceId}
              onChange={(e) => setDeviceId(e.target.value)}
              required
              aria-invalid={errors.deviceId ? true : undefined}
              aria-describedby={errors.deviceId ? "check-device-error" : undefined}
            >
              <option value="">{devices.length === 0 ? "No devices found" : "Choose a device…"}</option>
              {devices.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.description ? `${d.clientId} — ${d.description}` : d.clientId}
                </option>
              ))}
            </select>
            {errors.deviceId ? (
              <div className="error" id="check-device-error">
                {errors.deviceId}
              </div>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="check-action">Action</label>
            <select id="check-action" name="action" value={action} onChange={(e) => setAction(e.target.value as CheckAction)}>
              <option value="publish">Publish</option>
              <option value="subscribe">Subscribe</option>
              <option value="deliver">Receive (delivery of a message)</option>
            </select>
          </div>
        </div>
        <div className="grid-2">
          <div className="field">
            <label htmlFor="check-topic">Topic</label>
            <input
              id="check-topic"
              name="topic"
              className="mono"
              required
              value={topic}
              spellCheck={false}
              autoCapitalize="off"
              autoComplete="off"
              onChange={(e) => setTopic(e.target.value)}
              placeholder={action === "subscribe" ? "sensors/+/temp" : "sensors/zone1/temp"}
              aria-invalid={errors.topic || hint ? true : undefined}
              aria-describedby={errors.topic ? "check-topic-error" : hint ? "check-topic-hint-bad" : "check-topic-hint"}
            />
            {errors.topic ? (
              <div className="error" id="check-topic-error">
                {errors.topic}
              </div>
            ) : hint ? (
              <div className="error" id="check-topic-hint-bad">
                {hint}
              </div>
            ) : (
              <div className="hint" id="check-topic-hint">
                {action === "subscribe" ? "A topic filter; wildcards and $share/<group>/… are allowed." : "A topic name as the device writes it, without wildcards."}
              </div>
            )}
          </div>
          <div className="field">
            <label htmlFor="check-username">Username (optional)</label>
            <input
              id="check-username"
              name="username"
              value={username}
              autoComplete="off"
              onChange={(e) => setUsername(e.target.value)}
              aria-invalid={errors.username ? true : undefined}
              aria-describedby={errors.username ? "check-username-error" : "check-username-hint"}
            />
            {errors.username ? (
              <div className="error" id="check-username-error">
                {errors.username}
              </div>
            ) : (
              <div className="hint" id="check-username-hint">
                The {"${username}"} in rules. Default: the device&apos;s only credential&apos;s username, else its client ID.
              </div>
            )}
          </div>
        </div>
        {!state.ok ? <ActionMessage state={state} /> : null}
        <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
          {pending ? "Checking…" : "Check access"}
        </button>
      </form>

      {result ? <Verdict tenant={tenant} result={result} stale={checked.current !== current} checkedInputs={checked.current} /> : null}
    </div>
  );
}

function Verdict({ tenant, result, stale, checkedInputs }: { tenant: string; result: AccessCheckResult; stale: boolean; checkedInputs: string }) {
  const [, checkedAction, checkedTopic] = JSON.parse(checkedInputs || "[]") as [string, CheckAction, string, string];
  const d = result.decidedBy;
  return (
    <section className={`card verdict ${result.allowed ? "is-allowed" : "is-denied"}`} aria-labelledby="verdict-heading" role="status">
      <div className="verdict-head">
        <span className="verdict-icon" aria-hidden="true">
          {result.allowed ? "✓" : "✕"}
        </span>
        <div>
          <h2 id="verdict-heading">{result.allowed ? "Allowed" : "Denied"}</h2>
          <div>
            <span className="mono">{result.evaluatedAs.clientId}</span> {result.allowed ? "may" : "may not"} {verbs[checkedAction] ?? "use"}{" "}
            <code>{checkedTopic}</code>
          </div>
        </div>
      </div>
      {stale ? <p className="muted small">You changed the inputs since this check: run it again to update the verdict.</p> : null}
      <p>{result.reason}</p>
      {d ? (
        <dl className="facts">
          <dt>Decided by</dt>
          <dd>
            {/* A plain link: a full load makes the rule the :target (highlighted), which client navigation would not. */}
            <a href={`/t/${tenant}/roles/${d.roleId}#rule-${d.ruleId}`}>
              Rule {d.ruleIndex + 1} of role “{d.roleName}”
            </a>
          </dd>
          <dt>Rule</dt>
          <dd>
            <span className={`badge ${d.effect === "deny" ? "bad" : "ok"}`}>{d.effect === "deny" ? "Deny" : "Allow"}</span> {ruleActions[d.action] ?? d.action}{" "}
            <code>{d.topicFilter}</code>
            {d.expandedFilter !== d.topicFilter ? (
              <>
                {" "}
                (here <code>{d.expandedFilter}</code>)
              </>
            ) : null}
            , priority {d.priority}
          </dd>
          <dt>Through</dt>
          <dd>
            {d.via.kind === "device" ? "A binding to the device itself" : "A binding to its group"}{" "}
            {d.via.kind === "device" ? (
              <Link href={`/t/${tenant}/devices/${d.via.id}`} className="mono">
                {d.via.name}
              </Link>
            ) : (
              <strong>{d.via.name}</strong>
            )}
          </dd>
        </dl>
      ) : (
        <p className="muted">
          No rule matched, so the broker denies by default. Allow it with a rule in a role bound to this device or one of its groups:{" "}
          <Link href={`/t/${tenant}/roles`}>Roles &amp; permissions</Link>.
        </p>
      )}
      <p className="muted small">
        Evaluated as client ID <code>{result.evaluatedAs.clientId}</code> and username <code>{result.evaluatedAs.username}</code>.
      </p>
    </section>
  );
}
