"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useState, type ReactNode } from "react";
import type { Me } from "@/lib/api.ts";
import { Logo } from "./logo.tsx";

/** Sidebar navigation: platform pages for admins, then the pages of the selected tenant. */
const tenantPages: { href: string; label: string }[] = [
  { href: "", label: "Dashboard" },
  { href: "/devices", label: "Devices" },
  { href: "/roles", label: "Roles & permissions" },
  { href: "/access", label: "Access checker" },
  { href: "/clients", label: "Connected clients" },
  { href: "/retained", label: "Retained messages" },
  { href: "/bridges", label: "Bridges" },
  { href: "/events", label: "Connection events" },
  { href: "/audit", label: "Audit log" },
  { href: "/settings", label: "Settings" },
];

export function Shell({ me, name, children }: { me: Me; name: string; children: ReactNode }) {
  const path = usePathname();
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const current = /^\/t\/([^/]+)/.exec(path)?.[1];
  const base = current ? `/t/${current}` : undefined;
  const isCurrent = (href: string) => (href === base ? path === href : path === href || path.startsWith(href + "/"));
  const link = (href: string, label: string) => (
    <Link key={href} href={href} aria-current={isCurrent(href) ? "page" : undefined} onClick={() => setOpen(false)}>
      {label}
    </Link>
  );
  const tenants = me.tenants.map((t) => t.slug);
  if (current && !tenants.includes(current)) tenants.unshift(current);
  return (
    <div className="shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <aside className={`side ${open ? "open" : ""}`}>
        <Link href="/" className="brand" aria-label="Halyard home">
          <Logo /> Halyard
        </Link>
        <button type="button" className="menu-toggle small" aria-expanded={open} aria-controls="side-nav" onClick={() => setOpen(!open)}>
          Menu
        </button>
        <div className="collapsible" id="side-nav">
          {me.platformAdmin ? (
            <nav aria-label="Platform">
              <div className="section">Platform</div>
              {link("/overview", "Overview")}
              {link("/tenants", "Tenants")}
            </nav>
          ) : null}
          <div>
            <label className="section" htmlFor="tenant-select">
              Tenant
            </label>
            {tenants.length > 0 || me.platformAdmin ? (
              <select
                id="tenant-select"
                value={current ?? ""}
                onChange={(e) => {
                  if (e.target.value) router.push(`/t/${e.target.value}`);
                }}
              >
                <option value="">Choose a tenant…</option>
                {tenants.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            ) : (
              <p className="small">You are not a member of any tenant yet.</p>
            )}
          </div>
          {base ? <nav aria-label="Tenant">{tenantPages.map((p) => link(base + p.href, p.label))}</nav> : null}
          <div className="who">
            <div>{name}</div>
            <div className="small">{me.platformAdmin ? "Platform administrator" : (me.tenants.find((t) => t.slug === current)?.role ?? "").replace("tenant_", "")}</div>
            <form method="post" action="/api/auth/logout">
              <button type="submit" className="small">
                Sign out
              </button>
            </form>
          </div>
        </div>
      </aside>
      <main className="main" id="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
