// The dashboard's live parts. Buttons call the agent's JSON API (the session cookie goes along by
// itself; the page's CSRF token goes in a header), the live stream (GET /events) drives the stage
// list and the logs, and fresh server-rendered sections replace stale ones after every change.
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? ''
const app = document.body.dataset.app ?? null
const $ = (id) => document.getElementById(id)
const appPath = () => `/apps/${encodeURIComponent(app)}`

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      'x-csrf-token': csrf,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (response.status === 401) throw new Error('Your session has ended: reload and sign in again.')
  const data = await response.json().catch(() => null)
  if (!response.ok) throw new Error(data?.error ?? `${method} ${path}: HTTP ${response.status}`)
  return data
}

let toastTimer
function say(text, kind = 'info') {
  const toast = $('toast')
  toast.textContent = kind === 'error' ? `Error: ${text}` : text
  toast.className = kind
  toast.title = kind === 'error' ? 'Click to dismiss' : ''
  toast.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite')
  toast.hidden = false
  clearTimeout(toastTimer)
  // Errors stay until dismissed: a person must get to read them.
  if (kind !== 'error') toastTimer = setTimeout(() => (toast.hidden = true), 5000)
}

/** Form fields a person has changed (and not yet sent): a background refresh leaves them be. */
const dirty = (section) =>
  [...section.querySelectorAll('input:not([readonly]), select')].some((field) =>
    field.type === 'checkbox'
      ? field.checked !== field.defaultChecked
      : field.tagName === 'SELECT'
        ? [...field.options].some((option) => option.selected !== option.defaultSelected)
        : field.value !== field.defaultValue,
  )

/** Swaps every [data-refresh] section for its freshly rendered version. */
async function refresh({ force = true } = {}) {
  const response = await fetch(location.pathname, { headers: { accept: 'text/html' } })
  if (response.redirected || response.status === 401)
    return say('Your session has ended: reload and sign in again.', 'error')
  const fresh = new DOMParser().parseFromString(await response.text(), 'text/html')
  const focused = document.activeElement?.id
  for (const section of document.querySelectorAll('[data-refresh]')) {
    const next = fresh.getElementById(section.id)
    if (next && (force || !dirty(section))) section.replaceWith(document.importNode(next, true))
  }
  if (focused && document.activeElement === document.body) $(focused)?.focus()
  if (secret) showSecret(secret)
}

let refreshPending = false
const refreshSoon = () => {
  if (refreshPending) return
  refreshPending = true
  setTimeout(() => {
    refreshPending = false
    refresh({ force: false }).catch((error) => say(error.message, 'error'))
  }, 150)
}

// --- the secret: shown after enable or rotate, until the page is left
let secret = null
function showSecret(value) {
  secret = value
  const field = $('webhook-secret')
  const box = $('secret-box')
  if (!field || !box) return
  field.value = value
  box.hidden = false
}

// --- live stages and logs of this app's deployments
const deployments = new Map()
let current = 0
let logShowing = null
const entry = (id) => {
  if (!deployments.has(id)) deployments.set(id, { events: [], lines: [], whole: false })
  return deployments.get(id)
}

function describe(d) {
  const sha = d.commit ? d.commit.slice(0, 7) : ''
  const head = `#${d.deployment}`
  if (d.status === 'queued') return `${head} queued`
  if (d.status === 'running') return `${head} ${(d.stage ?? '').replace('_', ' ')}…`
  if (d.status === 'live') return `${head} live: ${sha}${d.reason ? ` (${d.reason})` : ''}`
  if (d.status === 'failed') return `${head} failed at ${d.stage ?? '?'}: ${d.reason ?? ''}`
  if (d.status === 'unchanged') return `${head} unchanged: ${sha} is already live`
  return `${head} ${d.status}${d.reason ? `: ${d.reason}` : ''}`
}

function showStages() {
  const list = $('stages')
  const events = deployments.get(current)?.events ?? []
  const last = events.at(-1)
  if (!list || !last) return
  const reached = new Set(events.flatMap((e) => e.reached ?? [e.stage]))
  // The page lists the stages in order (from agent/events.ts): the one source of that order.
  const stages = [...list.children].map((item) => item.dataset.stage)
  const at = last.status === 'live' ? stages.length - 1 : stages.indexOf(last.stage ?? 'queued')
  for (const item of list.children) {
    const index = stages.indexOf(item.dataset.stage)
    let state = ''
    if (index < at || (index === at && last.status === 'live'))
      state = reached.has(item.dataset.stage) || index === at ? 'done' : 'skipped'
    else if (index === at)
      state = last.status === 'failed' ? 'failed' : last.status === 'running' ? 'active' : ''
    item.className = state
    if (state === 'active') item.setAttribute('aria-current', 'step')
    else item.removeAttribute('aria-current')
  }
  list.dataset.status = last.status
  list.dataset.deployment = String(last.deployment)
  $('deploy-status').textContent = describe(last)
  $('deploy-status').className = last.status
}

function setLog(title, lines) {
  $('log-title').textContent = title
  const pre = $('log-text')
  pre.textContent = lines.length ? lines.join('\n') : '(empty)'
  pre.scrollTop = pre.scrollHeight
}

function appendLog(line) {
  const pre = $('log-text')
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4
  pre.textContent = pre.textContent === '(empty)' ? line : `${pre.textContent}\n${line}`
  if (atEnd) pre.scrollTop = pre.scrollHeight
}

async function showLog(which) {
  logShowing = which
  const title = which === 'app' ? '· app output' : `· build #${which}`
  const followed = which !== 'app' && deployments.get(Number(which))
  // A deployment followed from its start is complete in memory; others come from the log file.
  if (followed?.whole) return setLog(title, followed.lines)
  const log = await api('GET', `/logs/${encodeURIComponent(app)}/${which}?tail=200&format=json`)
  if (logShowing === which) setLog(title, log.lines)
}

function follow(d) {
  const seen = entry(d.id)
  seen.whole = true
  if (seen.events.length === 0)
    seen.events.push({ deployment: d.id, status: d.status, stage: d.stage, commit: d.commit })
  current = Math.max(current, d.id)
  showStages()
  if (current === d.id) {
    logShowing = d.id
    setLog(`· build #${d.id}`, seen.lines)
  }
}

// --- the live stream
let streamReady
const ready = new Promise((resolve) => (streamReady = resolve))

function listen() {
  const source = new EventSource(app ? `/events?app=${encodeURIComponent(app)}` : '/events')
  // 'ready' comes on every (re)connect: whatever changed before it (since the page was rendered,
  // or while the stream was down) was not streamed, so refresh from the server then.
  source.addEventListener('ready', () => {
    streamReady()
    refreshSoon()
  })
  source.addEventListener('deployment', (message) => {
    const d = JSON.parse(message.data)
    if (app && d.app === app) {
      const seen = entry(d.deployment)
      if (d.status === 'queued') seen.whole = true
      seen.events.push(d)
      if (d.deployment >= current) {
        current = d.deployment
        showStages()
      }
    }
    refreshSoon()
  })
  source.addEventListener('log', (message) => {
    const line = JSON.parse(message.data)
    if (line.stream === 'app') {
      if (logShowing === 'app') appendLog(line.line)
      return
    }
    const seen = entry(line.deployment)
    seen.lines.push(line.line)
    if (seen.lines.length > 5000) seen.lines.splice(0, 1000)
    if (logShowing === line.deployment) appendLog(line.line)
  })
  source.addEventListener('app', refreshSoon)
  source.addEventListener('relay', refreshSoon)
}

/** Where the page was loaded: the last deployment as the server saw it. */
function restore() {
  const last = $('stages')?.dataset.last
  if (!last) return
  const d = JSON.parse(last)
  entry(d.deployment).events.push(d)
  current = d.deployment
  showStages()
}

// --- actions
const actions = {
  async deploy() {
    // The stream must be live first, or the first stages could pass unseen.
    await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 3000))])
    follow(await api('POST', `${appPath()}/deploy`, {}))
  },
  async rollback(button) {
    await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 3000))])
    follow(await api('POST', `${appPath()}/rollback`, { to: button.dataset.release }))
  },
  async 'webhook-toggle'(input) {
    if (input.checked) {
      const hook = await api('POST', `${appPath()}/webhook/enable`, {
        provider: $('provider').value,
      })
      await refresh()
      showSecret(hook.secret)
      say('Webhook enabled: paste the URL and secret into your git host')
    } else {
      await api('POST', `${appPath()}/webhook/disable`)
      await refresh()
      say('Webhook disabled: deliveries are refused until it is enabled again')
    }
  },
  async rotate() {
    const hook = await api('POST', `${appPath()}/webhook/rotate`, { provider: $('provider').value })
    await refresh()
    showSecret(hook.secret)
    say('New secret issued: the old one no longer works')
  },
  async register() {
    const hook = await api('POST', `${appPath()}/webhook/enable`, {
      provider: $('provider').value,
      register: true,
    })
    await refresh()
    showSecret(hook.secret)
    say(registered(hook.registration), hook.registration.mode === 'auto' ? 'info' : 'error')
  },
  async 'register-all'() {
    const outcomes = await api('POST', '/webhooks/register-all')
    await refresh()
    say(outcomes.map((o) => `${o.app}: ${registered(o)}`).join(' · ') || 'No hooks to register')
  },
  async 'app-remove'() {
    if (!confirm(`Remove ${app}? It stops, and its releases, logs and webhook are deleted.`)) return
    await api('DELETE', appPath())
    location.assign('/')
  },
  async 'add-app'(form) {
    const field = (name) => form.elements[name].value.trim()
    const name = field('name')
    const token = field('token')
    await api('POST', '/apps', {
      name,
      repo: field('repo'),
      branch: field('branch'),
      port: field('port') ? Number(field('port')) : null,
      deploy: true,
      ...(token ? { gitToken: token } : {}),
    })
    const path = `/apps/${encodeURIComponent(name)}/webhook/enable`
    const hook = await api('POST', path, {
      provider: field('provider'),
      register: form.elements.register.checked,
    })
    // The app's page shows the first deployment live; the secret is shown there once.
    sessionStorage.setItem('toehold-secret', hook.secret)
    if (hook.registration)
      sessionStorage.setItem('toehold-registered', registered(hook.registration))
    location.assign(`/app/${encodeURIComponent(name)}`)
  },
  async 'notify-test'(button) {
    const result = await api('POST', `/notify/${button.dataset.targetId}/test`)
    say(
      result.delivered
        ? `Target #${result.id} took the test`
        : `Target #${result.id}: ${result.reason}`,
      result.delivered ? 'info' : 'error',
    )
  },
  async copy(button) {
    const field = $(button.dataset.target)
    try {
      await navigator.clipboard.writeText(field.value)
    } catch {
      // No clipboard API (plain http on a LAN address): select the text, try the old way.
      field.focus()
      field.select()
      if (!document.execCommand('copy')) return say('Press Ctrl+C (⌘C) to copy the selected text')
    }
    say('Copied')
  },
  async token(form) {
    const key = form.dataset.key
    await api('PUT', '/env', { app, key, value: form.elements.value.value })
    form.reset()
    await refresh()
    say(`${key} saved`)
  },
  async 'token-clear'(button) {
    await api('DELETE', '/env', { app, key: button.dataset.key })
    await refresh()
    say(`${button.dataset.key} removed`)
  },
  async log(button) {
    await showLog(button.dataset.log)
    $('log-text').focus()
  },
}

const HOSTS = { github: 'GitHub', gitlab: 'GitLab', gitea: 'Gitea', bitbucket: 'Bitbucket' }

/** What a registration did, in one line. */
function registered(outcome) {
  if (outcome.mode !== 'auto') return `Not registered: ${outcome.reason}`
  const arrived = outcome.test.arrived
  const proof =
    outcome.test.event === null
      ? 'the first push proves the path'
      : arrived && arrived.status < 300
        ? `the ${outcome.test.event} arrived through the relay: the path works`
        : `the ${outcome.test.event} has not arrived yet`
  return `Registered on ${HOSTS[outcome.host] ?? outcome.host} (hook ${outcome.hookId}): ${proof}`
}

async function act(element, event) {
  const action = actions[element.dataset.action]
  if (!action) return
  event.preventDefault()
  const control = element.tagName === 'FORM' ? element.querySelector('[type=submit]') : element
  control.disabled = true
  control.setAttribute('aria-busy', 'true')
  try {
    await action(element)
  } catch (error) {
    // A switch that could not switch goes back.
    if (element.type === 'checkbox') element.checked = !element.checked
    say(error.message, 'error')
  } finally {
    control.disabled = false
    control.removeAttribute('aria-busy')
  }
}

document.addEventListener('click', (event) => {
  const target = event.target.closest('button[data-action]')
  if (target) act(target, event)
  else if (event.target.id === 'toast') event.target.hidden = true
})
document.addEventListener('change', (event) => {
  if (event.target.matches('input[data-action]')) act(event.target, event)
})
document.addEventListener('submit', (event) => {
  if (event.target.matches('form[data-action]')) act(event.target, event)
})

// Relative times ("3m ago") stay true while the page is open.
function ago(iso) {
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000)
  if (seconds < 5) return 'just now'
  for (const [size, unit] of [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ])
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit} ago`
  return 'just now'
}
setInterval(() => {
  for (const time of document.querySelectorAll('time[datetime]'))
    time.textContent = ago(time.dateTime)
}, 15_000)

// Just added from the overview: the secret (shown this once) and what registration did.
const justAdded = app && sessionStorage.getItem('toehold-secret')
if (justAdded) {
  sessionStorage.removeItem('toehold-secret')
  const outcome = sessionStorage.getItem('toehold-registered')
  sessionStorage.removeItem('toehold-registered')
  showSecret(justAdded)
  say(outcome ?? 'App added: paste the URL and secret into your git host')
}

restore()
listen()
