// The overview's forms: add an app in one step (repo, branch, port, token, register the webhook),
// the notification targets with a test button, and the hooks the relay's move left stale.
import { html } from 'hono/html'
import { NOTIFY_FORMATS, NOTIFY_ON, type NotifyTarget, PROVIDERS } from '../../api/contract.ts'
import type { AppCard } from '../model.ts'
import { type Html, when } from './layout.ts'

export function addAppForm(): Html {
  return html`<section id="add-app" class="card" aria-labelledby="add-app-h">
  <h2 id="add-app-h">Add an app</h2>
  <form data-action="add-app">
    <label for="new-name">Name</label>
    <input id="new-name" name="name" type="text" required spellcheck="false">
    <label for="new-repo">Repository URL</label>
    <input id="new-repo" name="repo" type="text" required spellcheck="false" placeholder="https://github.com/you/app.git">
    <label for="new-branch">Branch</label>
    <input id="new-branch" name="branch" type="text" value="main" required spellcheck="false">
    <label for="new-port">Port</label>
    <input id="new-port" name="port" type="number" min="1" max="65535" placeholder="3000">
    <label for="new-provider">Git host</label>
    <select id="new-provider" name="provider">
      ${PROVIDERS.map((p) => html`<option value="${p}">${p}</option>`)}
    </select>
    <label for="new-token">Git token (GIT_TOKEN)</label>
    <input id="new-token" name="token" type="password" autocomplete="new-password" spellcheck="false" aria-describedby="new-token-hint">
    <p class="hint" id="new-token-hint">For a private repository, and to register the webhook and report deploys on commits. Never shown again.</p>
    <div class="switch">
      <input type="checkbox" id="new-register" name="register" checked>
      <label for="new-register">Register the webhook on the git host (needs a token that may)</label>
    </div>
    <button type="submit" class="primary">Add and deploy</button>
  </form>
</section>`
}

export function notifySection(targets: NotifyTarget[]): Html {
  return html`<section id="notify" class="card" data-refresh aria-labelledby="notify-h">
  <h2 id="notify-h">Notifications</h2>
  ${
    targets.length === 0
      ? html`<p class="muted">None yet. Add one on the agent's machine: <code>toehold notify add URL --format slack</code></p>`
      : html`<ul class="targets" aria-label="Notification targets">
    ${targets.map(
      (
        t,
      ) => html`<li>#${t.id} <strong>${t.format}</strong> to <code class="wrap">${t.url}</code> on ${t.on}${t.app ? ` for ${t.app}` : ''} <span class="muted">${when(t.createdAt)}</span>
      <button type="button" data-action="notify-test" data-target-id="${t.id}">Send a test</button></li>`,
    )}
  </ul>`
  }
  <p class="hint">Formats: ${NOTIFY_FORMATS.join(', ')}; on ${NOTIFY_ON.join(', ')}.</p>
</section>`
}

export function staleHooks(apps: AppCard[]): Html {
  const stale = apps.filter((app) => app.webhook?.problem)
  // Always there (hidden when empty), so a refresh after re-registering can empty it.
  if (stale.length === 0) return html`<section id="stale" data-refresh hidden></section>`
  return html`<section id="stale" class="card" data-refresh role="alert" aria-labelledby="stale-h">
  <h2 id="stale-h">Webhooks need attention</h2>
  <ul>${stale.map((app) => html`<li><strong>${app.app}</strong>: ${app.webhook?.problem}</li>`)}</ul>
  <button type="button" class="primary" data-action="register-all">Re-register all hooks</button>
</section>`
}
