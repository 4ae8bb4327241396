// The agent's local API in the test process: real state (SQLite in a temp home), a real deploy
// engine and event bus, driven through Hono's `app.request` without a socket.
import { join } from 'node:path'
import { pino } from 'pino'
import type { ApiDeps } from '../../agent/api/context.ts'
import { createApi } from '../../agent/api/server.ts'
import { webhookUrl } from '../../agent/api/status.ts'
import { createEvents } from '../../agent/core/events.ts'
import { agentHome, ensureHome } from '../../agent/core/home.ts'
import { createAgentMetrics } from '../../agent/core/metrics.ts'
import { createDeployer } from '../../agent/deploy/engine.ts'
import { DEFAULT_SETTINGS } from '../../agent/deploy/settings.ts'
import { createHookManager } from '../../agent/hosts/manage.ts'
import { createNotifier } from '../../agent/report/notify.ts'
import { createServing } from '../../agent/serve/listeners.ts'
import { openState } from '../../agent/state/db.ts'
import { tempDir } from './procs.ts'

export const API_KEY = 'thk_test-key'

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
type Json = any

export type ApiUnderTest = {
  deps: ApiDeps
  /** A request with the API key (pass `authorization: ''` in headers to send none). */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Json; headers: Headers }>
  close(): Promise<void>
}

export function apiUnderTest(): ApiUnderTest {
  const home = agentHome(join(tempDir('toehold-api-'), 'home'))
  ensureHome(home)
  const db = openState(home.state)
  const log = pino({ level: 'silent' })
  const events = createEvents()
  const metrics = createAgentMetrics()
  const serving = createServing({ log, metrics })
  const deployer = createDeployer({
    db,
    home,
    log,
    events,
    metrics,
    serving,
    settings: DEFAULT_SETTINGS,
  })
  const status = {
    db,
    deployer,
    instanceId: 'testinstance0000000a',
    publicUrl: () => 'https://relay.example.com',
  }
  const notifier = createNotifier({
    db,
    events,
    log,
    tuning: { attempts: 1, backoffMs: 0, timeoutMs: 2_000 },
  })
  const deps: ApiDeps = {
    ...status,
    home,
    events,
    metrics,
    apiKey: API_KEY,
    log,
    tunnel: () => null,
    apiNames: [],
    traffic: serving.traffic,
    hooks: createHookManager({ db, log, webhookUrl: (app) => webhookUrl(status, app) }),
    notifier,
  }
  const api = createApi(deps)
  return {
    deps,
    async call(method, path, body, headers = {}) {
      const response = await api.request(path, {
        method,
        headers: {
          // What any HTTP client sends; the API refuses a name it was not given (DNS rebinding).
          host: '127.0.0.1:7171',
          authorization: `Bearer ${API_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        // A string goes as it is (to send what is not JSON); anything else as JSON.
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      })
      const text = await response.text()
      let json: unknown = text
      try {
        json = JSON.parse(text)
      } catch {}
      return { status: response.status, json, headers: response.headers }
    },
    async close() {
      notifier.stop()
      await deployer.shutdown()
      await serving.close()
      db.close()
    },
  }
}
