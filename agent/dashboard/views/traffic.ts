// The app's traffic next to its deploy history: requests/s and errors/s over the last 10 minutes
// as a small SVG chart (no script, no inline style: the page's CSP allows neither), with a tick
// where a deployment went live, and the latest figures in words for screen readers.
import { html, raw } from 'hono/html'
import type { AppPage } from '../model.ts'
import type { Html } from './layout.ts'

const W = 300
const H = 60
const BUCKET_S = 10

export function trafficSection(page: AppPage): Html {
  const points = page.traffic
  if (points.length === 0) return html``
  const rate = (n: number) => n / BUCKET_S
  const top = Math.max(1, ...points.map((p) => rate(p.requests)))
  const x = (i: number) => ((i / (points.length - 1)) * W).toFixed(1)
  const y = (value: number) => (H - (rate(value) / top) * (H - 4)).toFixed(1)
  const line = (pick: (p: (typeof points)[number]) => number) =>
    points.map((p, i) => `${x(i)},${y(pick(p))}`).join(' ')
  const from = points[0]?.at ?? 0
  const span = (points.at(-1)?.at ?? 0) + BUCKET_S * 1000 - from
  const ticks = page.deployments
    .filter((d) => d.status === 'live' && d.finishedAt && Date.parse(d.finishedAt) >= from)
    .map((d) => (((Date.parse(d.finishedAt as string) - from) / span) * W).toFixed(1))
  // The last full bucket: the current one is still filling.
  const last = points.at(-2) ?? points.at(-1)
  const now = last
    ? `${rate(last.requests).toFixed(1)} req/s, ${rate(last.errors).toFixed(1)} errors/s`
    : ''
  return html`<section id="traffic" class="card" data-refresh aria-labelledby="traffic-h">
  <h2 id="traffic-h">Traffic <span class="muted">last 10 min</span></h2>
  <p class="traffic-now" role="status">${now} <span class="muted">(peak ${top.toFixed(1)} req/s)</span></p>
  <svg class="traffic" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="Requests and errors per second, last 10 minutes; ticks mark deployments going live">
    ${raw(ticks.map((t) => `<line class="tick" x1="${t}" x2="${t}" y1="0" y2="${H}"/>`).join(''))}
    <polyline class="requests" points="${line((p) => p.requests)}"/>
    <polyline class="errors" points="${line((p) => p.errors)}"/>
  </svg>
  <p class="legend muted"><span class="key requests">requests/s</span> <span class="key errors">errors/s (5xx)</span> <span class="key tick">deploy live</span></p>
</section>`
}
