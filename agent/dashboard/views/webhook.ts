// An app's webhook: the on/off switch, provider, relay URL, secret (shown once, by the script,
// after enable or rotate), and the git token the agent fetches with (set, never shown back).
import { html } from 'hono/html'
import { type HookRegistration, PROVIDERS, type Provider } from '../../api/contract.ts'
import type { AppPage } from '../model.ts'
import { type Html, when } from './layout.ts'

const LABELS: Record<Provider, string> = {
  github: 'GitHub (also Gitea, Forgejo)',
  gitlab: 'GitLab',
  bitbucket: 'Bitbucket Cloud',
  rev: 'rev.host',
  standard: 'Standard Webhooks (CI, others)',
}

const WHERE: Record<Provider, string> = {
  github:
    'GitHub: Settings → Webhooks → Add webhook. Payload URL and secret as here, content type application/json, "Just the push event".',
  gitlab:
    'GitLab: Settings → Webhooks. URL as here, "Secret token" = the secret, trigger: Push events.',
  bitbucket:
    'Bitbucket: Repository settings → Webhooks → Add webhook. URL and secret as here, trigger: Repository push.',
  rev: 'rev.host: repository settings → Webhooks. URL and signing secret as here.',
  standard: 'Any Standard Webhooks sender: the URL and the whsec_ secret as here.',
}

function copyField(id: string, label: string, what: string, value: string): Html {
  return html`<label for="${id}">${label}</label>
<div class="copy">
  <input id="${id}" type="text" readonly value="${value}" spellcheck="false">
  <button type="button" data-action="copy" data-target="${id}" aria-label="Copy ${what}">Copy</button>
</div>`
}

function tokenState(token: AppPage['token']): string {
  if (token.scope === 'app') return `${token.key} is set for this app.`
  if (token.scope === 'global')
    return `${token.key} is set for all apps (env -g); one set here wins.`
  return `No ${token.key} set: fine for public repositories.`
}

const HOSTS: Record<string, string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  gitea: 'Gitea',
  bitbucket: 'Bitbucket',
}

/** How the hook is managed: registered on the host (auto), pasted by hand, or polling instead. */
function modeLine(registration: HookRegistration | null): Html {
  const mode = registration?.mode ?? 'manual'
  const host = HOSTS[registration?.host ?? ''] ?? 'the git host'
  const text =
    mode === 'auto'
      ? `auto: registered on ${host} (hook ${registration?.hookId ?? '?'})`
      : mode === 'polling'
        ? 'polling: the agent polls the branch'
        : 'manual: pasted into the git host by hand'
  return html`<p id="webhook-mode" data-mode="${mode}">Mode: <strong>${text}</strong></p>
  ${registration?.reason ? html`<p class="hint">Not registered: ${registration.reason}</p>` : ''}
  ${registration?.problem ? html`<p class="error" role="alert">${registration.problem}</p>` : ''}`
}

export function webhookSection(page: AppPage): Html {
  const hook = page.webhook
  const provider = hook.provider ?? 'github'
  const last = hook.lastDelivery
  return html`<section id="webhook" class="card" data-refresh aria-labelledby="webhook-h">
  <h2 id="webhook-h">Webhook</h2>
  <div class="switch">
    <input type="checkbox" role="switch" id="webhook-enabled" data-action="webhook-toggle"${hook.enabled ? ' checked' : ''}>
    <label for="webhook-enabled">Deploy on push (webhook ${hook.enabled ? 'enabled' : 'disabled'})</label>
  </div>
  <label for="provider">Provider</label>
  <select id="provider" name="provider">
    ${PROVIDERS.map((p) => html`<option value="${p}"${p === provider ? ' selected' : ''}>${LABELS[p]}</option>`)}
  </select>
  ${
    hook.provider
      ? html`${hook.url ? copyField('webhook-url', 'Relay URL', 'URL', hook.url) : html`<p class="muted">The relay's URL is not known yet: is the agent connected to a relay?</p>`}
  <div id="secret-box" class="secret" hidden>
    ${copyField('webhook-secret', 'Secret (shown only now)', 'secret', '')}
    <p>${WHERE[provider]}</p>
    <p class="muted">Copy it now: the dashboard cannot show it again. Rotate to get a new one.</p>
  </div>
  ${modeLine(hook.registration)}
  <div class="actions">
    <button type="button" data-action="register">Register on the git host</button>
    <button type="button" data-action="rotate">Rotate secret</button>
  </div>
  <p class="hint">Rotating issues a new secret for the provider selected above (switching provider if it changed); the old secret stops working at once.</p>
  <p>Last delivery: ${last ? html`${when(last.at)} · ${last.event ?? 'unknown event'} → ${last.status} ${last.result}${last.deployment ? ` (#${last.deployment})` : ''}` : 'none yet'}</p>`
      : html`<p class="muted">Switch it on to get the URL and secret to paste into your git host.</p>`
  }
  ${hook.notes.map((note) => html`<p class="hint">${note}</p>`)}
  <form class="token" data-action="token" data-key="${page.token.key}">
    <label for="token">Git token (${page.token.key})</label>
    <p class="hint" id="token-state">${tokenState(page.token)} The agent passes it to git per command; it is never shown here.</p>
    <div class="copy">
      <input id="token" name="value" type="password" autocomplete="new-password" spellcheck="false" required aria-describedby="token-state">
      <button type="submit">Save token</button>
    </div>
    ${page.token.scope === 'app' ? html`<button type="button" class="quiet" data-action="token-clear" data-key="${page.token.key}">Remove ${page.token.key}</button>` : ''}
  </form>
</section>`
}
