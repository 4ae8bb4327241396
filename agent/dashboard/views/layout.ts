// The page shell: header with the relay's state and sign-out, the toast region, the assets.

import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { TunnelState } from '../../api/contract.ts'
import { ago, short as shortSha } from '../../core/format.ts'
import type { Isolation } from '../../core/sandbox.ts'
import { assetUrl } from '../assets.ts'

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>

export const when = (iso: string | null | undefined) =>
  iso ? html`<time datetime="${iso}" title="${iso}">${ago(iso)}</time>` : '—'

export const short = (sha: string | null | undefined) => shortSha(sha, '—')

/** A status word as a coloured badge (colour is never the only signal: the word is there). */
export const badge = (word: string) =>
  html`<span class="badge ${word}">${word.replace('_', ' ')}</span>`

export function relayLine(relay: TunnelState | null): Html {
  if (!relay)
    return html`<span class="relay"><span class="dot off"></span>No relay configured (start the agent with --relay)</span>`
  return html`<span class="relay" title="${relay.url}">
    <span class="dot ${relay.connected ? 'on' : 'off'}"></span>
    Relay ${relay.connected ? 'connected' : 'disconnected'} ${when(relay.since)}${
      !relay.connected && relay.lastError ? html` · ${relay.lastError}` : ''
    }
  </span>`
}

export function layout(page: {
  title: string
  body: Html
  /** Signed-in pages: the CSRF token the script sends back, and the header. */
  session?: { csrf: string; relay: TunnelState | null; sandbox: Isolation }
  /** The app this page is about: the script follows its live events. */
  app?: string
}): Html {
  const { session } = page
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${session ? html`<meta name="csrf-token" content="${session.csrf}">` : ''}
<title>${page.title} · toehold</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetUrl('dashboard.css')}">
${session ? html`<script type="module" src="${assetUrl('dashboard.js')}"></script>` : ''}
</head>
<body${page.app ? html` data-app="${page.app}"` : ''}>
<header class="top">
  <a class="brand" href="/">toehold</a>
  ${
    session
      ? html`<div id="relay" data-refresh>${relayLine(session.relay)}</div>
  <form method="post" action="/logout" class="logout">
    <input type="hidden" name="_csrf" value="${session.csrf}">
    <button type="submit" class="quiet">Sign out</button>
  </form>`
      : ''
  }
</header>
<main>
${
  session?.sandbox === 'none'
    ? html`<p class="error" role="alert" id="unsandboxed">Apps run <strong>unsandboxed</strong>: their code, dependencies, install and predeploy can read this agent's keys, API key and every app's tokens. Install bubblewrap (<code>apt install bubblewrap</code>) and restart the agent.</p>`
    : ''
}
${page.body}
</main>
${session ? html`<noscript><p class="error">The dashboard's buttons need JavaScript.</p></noscript>` : ''}
<div id="toast" role="status" aria-live="polite" hidden></div>
</body>
</html>`
}
