"use client";
import { startTransition, useActionState, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { ActionMessage } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import type { Role, TopicRule } from "@/lib/types.ts";
import { saveRole, validateRole } from "../actions.ts";
import { actionLabels, type RoleBody } from "../role-types.ts";
import { topicFilterProblem } from "../topic-filter-check.ts";

/**
 * Editor of one role: its name, description and ordered rule list.
 *
 * Every keystroke is checked twice: at once in the browser (MQTT filter
 * syntax and placeholders, with the exact mistake named) and, after a short
 * pause, by the broker (POST /roles/validate, the same checks a save makes,
 * including the name being free). Broker issues come back by path
 * (`rules.2.topicFilter`); they are pinned to the rule they were about (by
 * its key, not its index) and to the value checked, so reordering or typing
 * on never shows a stale message on the wrong rule.
 *
 * Order matters: the broker evaluates rules by priority (lower first), deny
 * before allow at equal priority, then as written. Moving a rule past a
 * neighbour of another priority takes that neighbour's priority, so the move
 * has the effect it shows; a rule that still runs elsewhere says so.
 */

type Field = "effect" | "action" | "topicFilter" | "priority";

interface DraftRule {
  key: string;
  effect: TopicRule["effect"];
  action: TopicRule["action"];
  topicFilter: string;
  /** Kept as typed; checked before sending. */
  priority: string;
}

interface ServerIssue {
  /** Rule key, or undefined for role-level paths (`name`, `description`, `rules`). */
  key?: string;
  field: string;
  message: string;
  /** The value the issue was about; hidden once the user changes it. */
  value: string;
}

const PRIORITY_MAX = 1_000_000;

function fromRole(role: Role): DraftRule[] {
  return role.rules.map((r) => ({ key: r.id, effect: r.effect, action: r.action, topicFilter: r.topicFilter, priority: String(r.priority) }));
}

function priorityProblem(p: string): string | undefined {
  if (!/^\d+$/.test(p.trim())) return "A whole number from 0 (checked first) to 1000000.";
  if (Number(p) > PRIORITY_MAX) return "At most 1000000.";
  return undefined;
}

function toBody(name: string, description: string, rules: DraftRule[]): RoleBody {
  return {
    name: name.trim(),
    description,
    rules: rules.map((r) => ({
      effect: r.effect,
      action: r.action,
      topicFilter: r.topicFilter,
      priority: priorityProblem(r.priority) ? 100 : Number(r.priority),
    })),
  };
}

/** Evaluation position of each rule (as the broker's CompiledAcl sorts them). */
function evaluationOrder(rules: DraftRule[]): number[] {
  const order = rules
    .map((r, index) => ({ index, priority: Number(r.priority) || 0, deny: r.effect === "deny" }))
    .sort((a, b) => a.priority - b.priority || (a.deny === b.deny ? 0 : a.deny ? -1 : 1) || a.index - b.index);
  const pos: number[] = new Array(rules.length);
  order.forEach((o, i) => (pos[o.index] = i));
  return pos;
}

function fieldValue(r: DraftRule, field: string): string {
  return field in r ? String(r[field as keyof DraftRule]) : "";
}

/** Maps API issues (`rules.2.topicFilter`, `name`) onto the rules they were about. */
function pinIssues(issues: { path: string; message: string }[], sent: DraftRule[], name: string, description: string): ServerIssue[] {
  return issues.map((i) => {
    const m = /^rules\.(\d+)(?:\.(\w+))?/.exec(i.path);
    const rule = m ? sent[Number(m[1])] : undefined;
    if (m && rule) {
      const field = m[2] ?? "rule";
      return { key: rule.key, field, message: i.message, value: fieldValue(rule, field) };
    }
    const value = i.path === "name" ? name : i.path === "description" ? description : "";
    return { field: i.path, message: i.message, value };
  });
}

/** Why a rule is checked at another position than it is listed. */
function orderReason(rules: DraftRule[], evalPos: number[], i: number): string {
  const me = evalPos[i] ?? i;
  const crossed = rules.filter((_, k) => (k < i && (evalPos[k] ?? k) > me) || (k > i && (evalPos[k] ?? k) < me));
  const byPriority = crossed.some((r) => Number(r.priority) !== Number(rules[i]?.priority));
  return byPriority ? "lower priority numbers go first" : "deny rules go before allow rules of equal priority";
}

const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th"}`;

export function RoleEditor({ tenant, role }: { tenant: string; role: Role }) {
  const [name, setName] = useState(role.name);
  const [description, setDescription] = useState(role.description ?? "");
  const [rules, setRules] = useState<DraftRule[]>(() => fromRole(role));
  const [baseline, setBaseline] = useState(() => JSON.stringify(toBody(role.name, role.description ?? "", fromRole(role))));
  const [serverIssues, setServerIssues] = useState<ServerIssue[]>([]);
  const [announcement, setAnnouncement] = useState("");
  const [state, formAction, saving] = useActionState(saveRole, idleState);
  const newKey = useRef(0);
  const focusNext = useRef<string | null>(null);
  const validation = useRef(0);
  const submitted = useRef<{ rules: DraftRule[]; name: string; description: string } | null>(null);

  const body = useMemo(() => toBody(name, description, rules), [name, description, rules]);
  const bodyJson = JSON.stringify(body);
  const dirty = bodyJson !== baseline;

  // Ask the broker after a pause in typing; only the latest answer counts.
  useEffect(() => {
    if (!dirty) {
      setServerIssues([]);
      return;
    }
    const ticket = ++validation.current;
    const sent = rules;
    const timer = setTimeout(async () => {
      const answer = await validateRole(tenant, role.id, body).catch(() => null);
      if (answer && ticket === validation.current) setServerIssues(pinIssues(answer.issues, sent, name, description));
    }, 450);
    return () => clearTimeout(timer);
    // bodyJson stands for body, rules, name and description.
  }, [bodyJson, dirty, tenant, role.id]);

  // After a save: success makes the saved role the new baseline (in the broker's order); failure pins its issues.
  useEffect(() => {
    if (!state.at) return;
    const data = (state as { data?: Role }).data;
    if (state.ok && data) {
      setRules(fromRole(data));
      setName(data.name);
      setDescription(data.description ?? "");
      setBaseline(JSON.stringify(toBody(data.name, data.description ?? "", fromRole(data))));
      setServerIssues([]);
    } else if (!state.ok && state.fieldErrors && submitted.current) {
      const s = submitted.current;
      setServerIssues(pinIssues(Object.entries(state.fieldErrors).map(([path, message]) => ({ path, message })), s.rules, s.name, s.description));
    }
  }, [state]);

  // Moves keep keyboard focus on the control that was used (or a sensible neighbour).
  useEffect(() => {
    if (!focusNext.current) return;
    const el = document.getElementById(focusNext.current) as HTMLElement | null;
    focusNext.current = null;
    if (el && !(el as HTMLButtonElement).disabled) el.focus();
  });

  const evalPos = evaluationOrder(rules);
  const clientProblems = rules.map((r) => ({ topicFilter: topicFilterProblem(r.topicFilter), priority: priorityProblem(r.priority) }));
  const nameProblem = name.trim() === "" ? "A role needs a name." : undefined;

  const serverIssue = (key: string | undefined, field: string, current: string) =>
    serverIssues.find((i) => i.key === key && i.field === field && i.value === current)?.message;
  const ruleLevelIssues = (r: DraftRule) => serverIssues.filter((i) => i.key === r.key && !["effect", "action", "topicFilter", "priority"].includes(i.field));
  const roleLevelIssues = serverIssues.filter((i) => i.key === undefined && i.field !== "name" && i.field !== "description");

  function update(key: string, field: Field, value: string) {
    setRules((rs) => rs.map((r) => (r.key === key ? { ...r, [field]: value } : r)));
  }

  function move(index: number, dir: -1 | 1) {
    const j = index + dir;
    const moved = rules[index];
    const neighbour = rules[j];
    if (!moved || !neighbour) return;
    const next = rules.slice();
    let note = "";
    const mp = Number(moved.priority);
    const np = Number(neighbour.priority);
    let priority = moved.priority;
    if (!priorityProblem(moved.priority) && !priorityProblem(neighbour.priority) && ((dir < 0 && mp > np) || (dir > 0 && mp < np))) {
      priority = neighbour.priority;
      note = ` Its priority is now ${priority}, like its new neighbour, so it is checked there.`;
    }
    next[j] = { ...moved, priority };
    next[index] = neighbour;
    setRules(next);
    const control = dir < 0 ? (j === 0 ? "down" : "up") : j === rules.length - 1 ? "up" : "down";
    focusNext.current = `rule-${moved.key}-${control}`;
    setAnnouncement(`Rule moved to position ${j + 1} of ${rules.length}.${note}`);
  }

  function remove(index: number) {
    const r = rules[index];
    if (!r) return;
    const next = rules.filter((_, i) => i !== index);
    setRules(next);
    const neighbour = next[index] ?? next[index - 1];
    focusNext.current = neighbour ? `rule-${neighbour.key}-remove` : "add-rule";
    setAnnouncement(`Rule ${index + 1} removed. ${next.length} rule${next.length === 1 ? "" : "s"} left.`);
  }

  function add() {
    const key = `new-${++newKey.current}`;
    const last = rules[rules.length - 1];
    setRules([...rules, { key, effect: "allow", action: "both", topicFilter: "", priority: last && !priorityProblem(last.priority) ? last.priority : "100" }]);
    focusNext.current = `rule-${key}-topicFilter`;
    setAnnouncement(`Rule ${rules.length + 1} added.`);
  }

  function discard() {
    setRules(fromRole(role));
    setName(role.name);
    setDescription(role.description ?? "");
    setBaseline(JSON.stringify(toBody(role.name, role.description ?? "", fromRole(role))));
    setServerIssues([]);
    setAnnouncement("Changes discarded.");
  }

  /** Submitted through onSubmit, not the `action` prop: React would reset the form (and its controlled selects) after the action. */
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const firstBad = nameProblem
      ? "role-edit-name"
      : (() => {
          const i = clientProblems.findIndex((p) => p.topicFilter || p.priority);
          const r = rules[i];
          if (!r) return undefined;
          return `rule-${r.key}-${clientProblems[i]?.topicFilter ? "topicFilter" : "priority"}`;
        })();
    if (firstBad) {
      setAnnouncement("Fix the highlighted fields before saving.");
      document.getElementById(firstBad)?.focus();
      return;
    }
    submitted.current = { rules, name, description };
    const data = new FormData(e.currentTarget);
    startTransition(() => formAction(data));
  }

  const nameError = nameProblem ?? serverIssue(undefined, "name", name);
  const descriptionError = serverIssue(undefined, "description", description);

  return (
    <form onSubmit={onSubmit} className="stack" aria-labelledby="rules-heading">
      <input type="hidden" name="tenant" value={tenant} />
      <input type="hidden" name="roleId" value={role.id} />
      <input type="hidden" name="body" value={bodyJson} />
      <div className="sr-only" role="status" aria-live="polite">
        {announcement}
      </div>

      <div className="card">
        <div className="grid-2">
          <div className="field">
            <label htmlFor="role-edit-name">Role name</label>
            <input
              id="role-edit-name"
              value={name}
              maxLength={200}
              onChange={(e) => setName(e.target.value)}
              aria-invalid={nameError ? true : undefined}
              aria-describedby={nameError ? "role-edit-name-error" : undefined}
            />
            {nameError ? (
              <div className="error" id="role-edit-name-error">
                {nameError}
              </div>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="role-edit-description">Description</label>
            <input
              id="role-edit-description"
              value={description}
              maxLength={1000}
              onChange={(e) => setDescription(e.target.value)}
              placeholder="What devices with this role may do"
              aria-invalid={descriptionError ? true : undefined}
              aria-describedby={descriptionError ? "role-edit-description-error" : undefined}
            />
            {descriptionError ? (
              <div className="error" id="role-edit-description-error">
                {descriptionError}
              </div>
            ) : null}
          </div>
        </div>
      </div>

      <section className="card" aria-labelledby="rules-heading">
        <div className="row">
          <h2 id="rules-heading">Rules</h2>
          <span className="spacer" />
          {dirty ? <span className="badge warn">Unsaved changes</span> : null}
        </div>
        <div className="alert info small" id="rules-hint">
          <strong>First match wins.</strong> For each publish or subscribe, the broker checks the rules of every role bound to the device
          (directly or through a group) by priority, lowest number first; at equal priority deny rules come before allow rules, then the
          order below. The first rule whose action and topic filter match decides. If none matches, the request is denied. Use{" "}
          <code>{"${clientid}"}</code> and <code>{"${username}"}</code> in a filter to give each device its own topics, e.g.{" "}
          <code>{"devices/${clientid}/#"}</code>.
        </div>
        {roleLevelIssues.length > 0 ? (
          <div className="alert error" role="alert">
            {roleLevelIssues.map((i) => (
              <div key={i.field + i.message}>
                {i.field === "rules" ? "Rules" : i.field}: {i.message}
              </div>
            ))}
          </div>
        ) : null}
        {rules.length === 0 ? (
          <div className="empty small" role="status">
            <h3>No rules</h3>
            <p>This role allows nothing yet. Add a rule, for example allow publish &amp; subscribe on devices/{"${clientid}"}/#.</p>
          </div>
        ) : (
          <ol className="rule-list" aria-describedby="rules-hint">
            {rules.map((r, i) => {
              const base = `rule-${r.key}`;
              const topicError = clientProblems[i]?.topicFilter ?? serverIssue(r.key, "topicFilter", r.topicFilter);
              const priorityError = clientProblems[i]?.priority ?? serverIssue(r.key, "priority", r.priority);
              const effectError = serverIssue(r.key, "effect", r.effect);
              const actionError = serverIssue(r.key, "action", r.action);
              const other = ruleLevelIssues(r);
              const pos = evalPos[i] ?? i;
              return (
                <li key={r.key} className={`rule-item ${r.effect === "deny" ? "is-deny" : "is-allow"}`}>
                  <fieldset id={base}>
                    <legend>
                      Rule {i + 1}{" "}
                      <span className={`badge ${r.effect === "deny" ? "bad" : "ok"}`} aria-hidden="true">
                        {r.effect === "deny" ? "Deny" : "Allow"} {actionLabels[r.action].toLowerCase()}
                      </span>
                    </legend>
                    <div className="rule-grid">
                      <div className="field">
                        <label htmlFor={`${base}-effect`}>Effect</label>
                        <select
                          id={`${base}-effect`}
                          value={r.effect}
                          onChange={(e) => update(r.key, "effect", e.target.value)}
                          aria-invalid={effectError ? true : undefined}
                        >
                          <option value="allow">Allow</option>
                          <option value="deny">Deny</option>
                        </select>
                        {effectError ? <div className="error">{effectError}</div> : null}
                      </div>
                      <div className="field">
                        <label htmlFor={`${base}-action`}>Action</label>
                        <select
                          id={`${base}-action`}
                          value={r.action}
                          onChange={(e) => update(r.key, "action", e.target.value)}
                          aria-invalid={actionError ? true : undefined}
                        >
                          <option value="both">{actionLabels.both}</option>
                          <option value="publish">{actionLabels.publish}</option>
                          <option value="subscribe">{actionLabels.subscribe}</option>
                        </select>
                        {actionError ? <div className="error">{actionError}</div> : null}
                      </div>
                      <div className="field rule-topic">
                        <label htmlFor={`${base}-topicFilter`}>Topic filter</label>
                        <input
                          id={`${base}-topicFilter`}
                          className="mono"
                          value={r.topicFilter}
                          maxLength={1024}
                          spellCheck={false}
                          autoCapitalize="off"
                          autoComplete="off"
                          placeholder="devices/${clientid}/#"
                          onChange={(e) => update(r.key, "topicFilter", e.target.value)}
                          aria-invalid={topicError ? true : undefined}
                          aria-describedby={topicError ? `${base}-topicFilter-error` : undefined}
                        />
                        {topicError ? (
                          <div className="error" id={`${base}-topicFilter-error`}>
                            {topicError}
                          </div>
                        ) : null}
                      </div>
                      <div className="field rule-priority">
                        <label htmlFor={`${base}-priority`}>Priority</label>
                        <input
                          id={`${base}-priority`}
                          inputMode="numeric"
                          value={r.priority}
                          onChange={(e) => update(r.key, "priority", e.target.value)}
                          aria-invalid={priorityError ? true : undefined}
                          aria-describedby={priorityError ? `${base}-priority-error` : undefined}
                        />
                        {priorityError ? (
                          <div className="error" id={`${base}-priority-error`}>
                            {priorityError}
                          </div>
                        ) : null}
                      </div>
                    </div>
                    {other.map((o) => (
                      <div className="error-text" key={o.field + o.message}>
                        {o.message}
                      </div>
                    ))}
                    <div className="row rule-controls">
                      {pos !== i ? (
                        <span className="small muted">
                          Checked {ordinal(pos + 1)} in this role: {orderReason(rules, evalPos, i)}.
                        </span>
                      ) : null}
                      <span className="spacer" />
                      <button type="button" className="small" id={`${base}-up`} disabled={i === 0} onClick={() => move(i, -1)} aria-describedby={`${base}-legend-hidden`}>
                        Move up
                      </button>
                      <button
                        type="button"
                        className="small"
                        id={`${base}-down`}
                        disabled={i === rules.length - 1}
                        onClick={() => move(i, 1)}
                        aria-describedby={`${base}-legend-hidden`}
                      >
                        Move down
                      </button>
                      <button type="button" className="small danger" id={`${base}-remove`} onClick={() => remove(i)} aria-describedby={`${base}-legend-hidden`}>
                        Remove
                      </button>
                      <span id={`${base}-legend-hidden`} className="sr-only">
                        rule {i + 1}
                      </span>
                    </div>
                  </fieldset>
                </li>
              );
            })}
          </ol>
        )}
        <div className="row">
          <button type="button" id="add-rule" onClick={add}>
            Add rule
          </button>
        </div>
      </section>

      <div className="card save-bar">
        <ActionMessage state={state} />
        <div className="row">
          <button type="submit" className="primary" disabled={saving} aria-busy={saving}>
            {saving ? "Saving…" : "Save role"}
          </button>
          {dirty ? (
            <button type="button" onClick={discard}>
              Discard changes
            </button>
          ) : (
            <span className="muted small">All changes saved.</span>
          )}
        </div>
      </div>
    </form>
  );
}
