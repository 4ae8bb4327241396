// The apps list: one card per app with its state, live commit and last deployment.
import { html } from 'hono/html'
import type { AppCard, Overview } from '../model.ts'
import { badge, type Html, short, when } from './layout.ts'
import { addAppForm, notifySection, staleHooks } from './onboard.ts'

/** The last deployment in one line: status, when, and for a failure its stage and reason. */
export function lastDeploy(card: AppCard): Html {
  const last = card.lastDeployment
  if (!last) return html`<span class="muted">never</span>`
  const stage = last.status === 'running' && last.stage ? ` (${last.stage.replace('_', ' ')})` : ''
  return html`#${last.id} ${badge(last.status)}${stage} ${when(last.finishedAt ?? last.startedAt)}${
    last.status === 'failed'
      ? html`<span class="reason">at <strong>${last.stage ?? '?'}</strong>: ${last.reason ?? 'no reason given'}</span>`
      : ''
  }`
}

export const commitLine = (card: AppCard): Html =>
  card.commit
    ? html`<code>${short(card.commit)}</code> <span class="message">${card.message ?? ''}</span>`
    : html`<span class="muted">none yet</span>`

export function appsList(apps: AppCard[]): Html {
  if (apps.length === 0)
    return html`<section class="card"><h2>No apps yet</h2>
<p>Add one on the agent's machine: <code>toehold app add NAME --repo URL</code></p></section>`
  return html`<ul class="apps" aria-label="Apps">
${apps.map(
  (app) => html`<li class="card">
  <a href="/app/${encodeURIComponent(app.app)}"><strong>${app.app}</strong></a>
  ${badge(app.state)}
  <div class="commit"><span class="label">Live commit</span>${commitLine(app)}</div>
  <div class="last"><span class="label">Last deploy</span>${lastDeploy(app)}</div>
</li>`,
)}
</ul>`
}

export const overviewBody = (overview: Overview) =>
  html`<h1>Apps</h1>${staleHooks(overview.apps)}<div id="apps" data-refresh>${appsList(overview.apps)}</div>
<div class="grid">
  <div class="col">${addAppForm()}</div>
  <div class="col">${notifySection(overview.targets)}</div>
</div>`
