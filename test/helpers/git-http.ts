// git's own smart-HTTP server (`git http-backend`, a CGI program) behind a small Node server that
// demands HTTP Basic auth with one token, as a private repository on a git host would.
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type GitHttp = {
  /** URL of a repository under `root`, e.g. url('remote.git'). */
  url(path: string): string
  /** Requests refused for a missing or wrong token. */
  refused: number
  close(): Promise<void>
}

/** Serves the repositories under `root` to `x-access-token:<token>` (how agent/git.ts sends it). */
export async function startGitHttp(root: string, token: string): Promise<GitHttp> {
  const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`
  const state = { refused: 0 }
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      state.refused += 1
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end()
      return
    }
    gitBackend(root, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (path) => `http://127.0.0.1:${port}/${path}`,
    get refused() {
      return state.refused
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Answers one smart-HTTP request with `git http-backend` over the repositories under `root`. */
export function gitBackend(root: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const cgi = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      REMOTE_USER: 'x-access-token',
      REMOTE_ADDR: '127.0.0.1',
    },
  })
  req.pipe(cgi.stdin)
  // CGI answers with header lines, a blank line, then the body.
  let head = Buffer.alloc(0)
  let sent = false
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (sent) {
      res.write(chunk)
      return
    }
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end === -1) return
    let status = 200
    const headers: Record<string, string> = {}
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'status') status = Number.parseInt(value, 10)
      else headers[name] = value
    }
    res.writeHead(status, headers)
    res.write(head.subarray(end + 4))
    sent = true
  })
  cgi.stdout.on('end', () => {
    if (!sent) res.writeHead(502)
    res.end()
  })
}
