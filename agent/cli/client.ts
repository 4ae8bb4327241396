// The CLI's way to the running agent: its address and API key from TOEHOLD_HOME/agent/agent.json
// (or --api / TOEHOLD_API and TOEHOLD_API_KEY), and one-line errors a person can act on.
import { readFileSync } from 'node:fs'
import type { AgentInfo } from '../api/contract.ts'
import { agentHome, defaultHome } from '../core/home.ts'
import { type Exchange, exchange } from './http.ts'

export class CliError extends Error {
  override name = 'CliError'
}

export type ClientOptions = { api?: string; home?: string; json?: boolean }

export type Client = {
  url: string
  key: string
  request<T>(method: string, path: string, body?: unknown): Promise<T>
  /** A raw authorised fetch, for streams (request() avoids fetch's cost: see http.ts). */
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

  const notRunning = () =>
    new CliError(`the agent is not running at ${url}: start it with \`toehold agent\``)
  const rejected = () =>
    new CliError(`the agent at ${url} rejected the API key (is ${home.root} that agent's home?)`)
  const call = async (path: string, init: RequestInit = {}) => {
    let response: Response
    try {
      response = await fetch(`${url}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` },
      })
    } catch {
      throw notRunning()
    }
    if (response.status === 401) throw rejected()
    return response
  }

  return {
    url,
    key,
    fetch: call,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let answer: Exchange
      try {
        answer = await exchange(
          new URL(`${url}${path}`),
          method,
          {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body === undefined ? undefined : JSON.stringify(body),
        )
      } catch (error) {
        // A socket error (ECONNREFUSED, ECONNRESET) has a code; a garbled answer does not.
        if ((error as NodeJS.ErrnoException).code) throw notRunning()
        throw new CliError(`the agent at ${url} sent no proper answer: ${(error as Error).message}`)
      }
      if (answer.status === 401) throw rejected()
      let value: unknown = answer.body
      try {
        value = JSON.parse(answer.body)
      } catch {}
      if (answer.status >= 400) {
        const message = (value as { error?: string })?.error ?? `HTTP ${answer.status}`
        throw new CliError(message)
      }
      return value as T
    },
  }
}
