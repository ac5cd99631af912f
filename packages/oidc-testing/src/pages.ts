export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:3rem auto}label,input,button{display:block;width:100%;box-sizing:border-box;margin:.3rem 0}input{padding:.4rem}button{padding:.5rem}#input-error{color:#b00}</style>
</head>
<body>
${body}
</body>
</html>`;
}

/**
 * Element ids match Keycloak's login theme (kc-form-login, username, password, kc-login,
 * input-error) so browser tests written against this page also drive a real Keycloak.
 */
export function loginPage(opts: { realm: string; action: string; clientId: string; username?: string; error?: string }): string {
  const error = opts.error ? `<span id="input-error" role="alert">${escapeHtml(opts.error)}</span>` : "";
  return page(
    `Sign in to ${opts.realm}`,
    `<h1 id="kc-page-title">Sign in to your account</h1>
<p id="kc-client">${escapeHtml(opts.clientId)}</p>
${error}
<form id="kc-form-login" method="post" action="${escapeHtml(opts.action)}">
<label for="username">Username or email</label>
<input id="username" name="username" type="text" autocomplete="username" autofocus value="${escapeHtml(opts.username ?? "")}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="kc-login" name="login" type="submit">Sign In</button>
</form>`,
  );
}

/**
 * Keycloak logs out without asking when the request carries id_token_hint and asks otherwise;
 * the confirmation is oidc-provider's form, submitted by the `kc-logout` button.
 */
export function logoutPage(form: string, autoSubmit: boolean): string {
  const script = autoSubmit ? `<script>document.getElementById("kc-logout").click();</script>` : "";
  return page(
    "Logging out",
    `<h1 id="kc-page-title">Logging out</h1>
<p>Do you want to log out?</p>
${form}
<button id="kc-logout" type="submit" form="op.logoutForm" name="logout" value="yes">Logout</button>
${script}`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1 id="kc-page-title">${escapeHtml(title)}</h1>\n<p id="kc-message">${escapeHtml(message)}</p>`);
}
