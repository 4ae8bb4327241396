// One app: its status, Deploy now with live stages, the webhook, releases with rollback,
// deployments with their build logs, and the app's own log.
import { html } from 'hono/html'
import { STAGES } from '../../api/contract.ts'
import type { AppCard, AppPage } from '../model.ts'
import { commitLine, lastDeploy } from './apps.ts'
import { badge, type Html, short, when } from './layout.ts'
import { trafficSection } from './traffic.ts'
import { webhookSection } from './webhook.ts'

const appPath = (name: string) => `/app/${encodeURIComponent(name)}`

export function appsNav(apps: AppCard[], current: string): Html {
  return html`<nav id="apps" data-refresh aria-label="Apps"><ul class="chips">
${apps.map(
  (app) =>
    html`<li><a href="${appPath(app.app)}"${app.app === current ? html` aria-current="page"` : ''}>${app.app}</a> ${badge(app.state)}</li>`,
)}
</ul></nav>`
}

function summary(card: AppCard): Html {
  return html`<section id="summary" class="card" data-refresh aria-labelledby="summary-h">
  <h2 id="summary-h">Status</h2>
  <dl class="facts">
    <dt>State</dt>
    <dd>${badge(card.state)}${card.desired === 'stopped' ? html` <span class="muted">(kept stopped)</span>` : ''}${card.pid ? html` <span class="muted">pid ${card.pid}</span>` : ''}</dd>
    <dt>Live commit</dt>
    <dd class="commit">${commitLine(card)}</dd>
    <dt>Last deploy</dt>
    <dd class="last">${lastDeploy(card)}</dd>
    <dt>Tracks</dt>
    <dd>${card.track ? html`<code>${card.track}</code>${card.tag ? html` <span class="muted">(live: <code>${card.tag}</code>)</span>` : ''}` : html`<code>${card.branch}</code>`} of <code class="wrap">${card.repo}</code></dd>
    ${
      card.pin
        ? html`<dt>Pinned</dt><dd class="pin">Rolled back to <code>${card.pin.release}</code> ${when(card.pin.since)}: webhooks, polls and convergence do not deploy <code>${short(card.pin.commit)}</code> or older. A new commit on <code>${card.branch}</code>, or <strong>Deploy now</strong>, lifts the pin.</dd>`
        : ''
    }
    ${card.port ? html`<dt>Port</dt><dd>${card.bind ? `${card.bind}:` : ''}${card.port} <span class="muted">(health ${card.health}, ${card.strategy})</span></dd>` : ''}
    ${card.hostname ? html`<dt>Hostname</dt><dd><code>${card.hostname}</code></dd>` : ''}
  </dl>
</section>`
}

/** The latest deployment as the script's stage list starts from it (stages it went through). */
function lastForScript(page: AppPage): string {
  const d = page.deployments[0]
  if (!d) return ''
  const reached = STAGES.filter((stage) => stage in d.timings || stage === d.stage)
  const { status, stage, commit, reason } = d
  return JSON.stringify({ deployment: d.id, status, stage, commit, reason, reached })
}

function deploySection(page: AppPage): Html {
  const { card } = page
  return html`<section id="deploy" class="card" aria-labelledby="deploy-h">
  <h2 id="deploy-h">Deploy</h2>
  <p>Fetches ${card.track ? html`the newest tag that <code>${card.track}</code> matches` : html`the head of <code>${card.branch}</code>`}, installs, builds, and switches over once it is healthy. A failure leaves the running version alone.</p>
  <button type="button" class="primary" data-action="deploy">Deploy now</button>
  <ol id="stages" class="stages" aria-label="Stages of the latest deployment" data-last="${lastForScript(page)}">
    ${STAGES.map((stage) => html`<li data-stage="${stage}">${stage.replace('_', ' ')}</li>`)}
  </ol>
  <p id="deploy-status" role="status" aria-live="polite"></p>
</section>`
}

function releasesSection(page: AppPage): Html {
  return html`<section id="releases" class="card" data-refresh aria-labelledby="releases-h">
  <h2 id="releases-h">Releases</h2>
  ${
    page.releases.length === 0
      ? html`<p class="muted">None yet: the first deployment makes one.</p>`
      : html`<ul class="rows">
    ${page.releases.map(
      (release) => html`<li data-release="${release.name}">
      <div class="what"><code>${release.name.split('-')[0]}</code> <code>${short(release.commit)}</code> <span class="message">${release.message ?? ''}</span></div>
      <div class="meta">#${release.deployment} · ${when(release.createdAt)}</div>
      <div class="act">${
        release.live
          ? badge('live')
          : html`<button type="button" data-action="rollback" data-release="${release.name}" aria-label="Rollback to ${release.name}">Rollback</button>`
      }</div>
    </li>`,
    )}
  </ul>`
  }
</section>`
}

function deploymentsSection(page: AppPage): Html {
  return html`<section id="deployments" class="card" data-refresh aria-labelledby="deployments-h">
  <h2 id="deployments-h">Deployments</h2>
  ${
    page.deployments.length === 0
      ? html`<p class="muted">None yet.</p>`
      : html`<ul class="rows">
    ${page.deployments.map(
      (d) => html`<li data-deployment="${d.id}">
      <div class="what">#${d.id} ${badge(d.status)} <span class="muted">${d.trigger}</span> <code>${short(d.commit)}</code> <span class="message">${d.message ?? ''}</span>
        ${d.status === 'failed' ? html`<span class="reason">at <strong>${d.stage ?? '?'}</strong>: ${d.reason ?? ''}</span>` : d.reason ? html`<span class="muted reason">${d.reason}</span>` : ''}
      </div>
      <div class="meta">${when(d.createdAt)}</div>
      <div class="act"><button type="button" data-action="log" data-log="${d.id}" aria-label="Build log of #${d.id}">Build log</button></div>
    </li>`,
    )}
  </ul>`
  }
</section>`
}

function logSection(): Html {
  return html`<section id="log" class="card" aria-labelledby="log-h">
  <div class="log-head">
    <h2 id="log-h">Log <span id="log-title" class="muted"></span></h2>
    <button type="button" data-action="log" data-log="app">App log</button>
  </div>
  <pre id="log-text" tabindex="0" aria-labelledby="log-h">Pick a deployment's build log, or the app log.</pre>
</section>`
}

export function appBody(apps: AppCard[], page: AppPage): Html {
  const { card } = page
  return html`${appsNav(apps, card.app)}
<div class="app-head"><h1>${card.app}</h1>
  <button type="button" class="quiet" data-action="app-remove">Remove app</button>
</div>
<div class="grid">
  <div class="col">
    ${summary(card)}
    ${deploySection(page)}
    ${releasesSection(page)}
  </div>
  <div class="col">${webhookSection(page)}</div>
  ${trafficSection(page)}
  ${deploymentsSection(page)}
  ${logSection()}
</div>`
}
