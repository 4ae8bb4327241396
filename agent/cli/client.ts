// The CLI's way to the running agent: its address and API key from TOEHOLD_HOME/agent/agent.json
// (or --api / TOEHOLD_API and TOEHOLD_API_KEY), and one-line errors a person can act on.
import { readFileSync } from 'node:fs'
import type { AgentInfo } from '../api/contract.ts'
import { agentHome, defaultHome } from '../core/home.ts'

export class CliError extends Error {
  override name = 'CliError'
}

export type ClientOptions = { api?: string; home?: string; json?: boolean }

export type Client = {
  url: string
  key: string
  request<T>(method: string, path: string, body?: unknown): Promise<T>
  /** A raw authorised fetch (for streams). */
  fetch(path: string, init?: RequestInit): Promise<Response>
}

export function connect(options: ClientOptions): Client {
  const home = agentHome(options.home ?? defaultHome())
  let info: Partial<AgentInfo> = {}
  try {
    info = JSON.parse(readFileSync(home.agentInfo, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EACCES')
      throw new CliError(
        `cannot read ${home.agentInfo}: permission denied (run as the agent's user)`,
      )
  }
  const url = (options.api ?? process.env.TOEHOLD_API ?? info.api)?.replace(/\/+$/, '')
  const key = process.env.TOEHOLD_API_KEY ?? info.apiKey
  if (!url || !key) {
    throw new CliError(
      `no agent found in ${home.root}: start one with \`toehold agent\` (or pass --home / --api)`,
    )
  }

  const call = async (path: string, init: RequestInit = {}) => {
    let response: Response
    try {
      response = await fetch(`${url}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` },
      })
    } catch {
      throw new CliError(`the agent is not running at ${url}: start it with \`toehold agent\``)
    }
    if (response.status === 401) {
      throw new CliError(
        `the agent at ${url} rejected the API key (is ${home.root} that agent's home?)`,
      )
    }
    return response
  }

  return {
    url,
    key,
    fetch: call,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await call(path, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      })
      const text = await response.text()
      let value: unknown = text
      try {
        value = JSON.parse(text)
      } catch {}
      if (!response.ok) {
        const message = (value as { error?: string })?.error ?? `HTTP ${response.status}`
        throw new CliError(message)
      }
      return value as T
    },
  }
}
