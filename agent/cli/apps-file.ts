// The apps file on the client's side: TOML read with smol-toml (a syntax error keeps its line
// and column), secret references resolved here ("${VAR}" from this environment, { file = "…" }
// from disk) so secrets never live in the file, literal secrets refused, and the line of the key
// the agent refuses found for its message. The shape itself is checked by the agent.
import { readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, resolve } from 'node:path'
import { parse, stringify, TomlError } from 'smol-toml'
import { showPath } from '../core/format.ts'
import { CliError } from './client.ts'

export type Path = (string | number)[]
export type AppsFile = { path: string; text: string; doc: Record<string, unknown> }

/** Names that say a value is a secret, and the shapes of well-known tokens. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL/i
const SECRET_VALUE = /^(gh[pousr]_|github_pat_|glpat-|whsec_|xox[abpr]-|sk-|AKIA[0-9A-Z]{12})/
/** The agent takes no variable longer than this. */
const MAX_SECRET_FILE = 64 * 1024
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** What `toehold export` prints, after its header. */
export const toToml = (doc: Record<string, unknown>): string => stringify(doc)

/** A CliError naming the file, the line of the key at `path` (when found) and the key. */
export function fileError(file: AppsFile, path: Path, message: string): CliError {
  const line = lineOf(file.text, path)
  return new CliError(`${file.path}${line ? `:${line}` : ''}: ${message}`)
}

export function loadFile(path: string, env: NodeJS.ProcessEnv = process.env): AppsFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
  let doc: Record<string, unknown>
  try {
    doc = parse(text)
  } catch (error) {
    if (!(error instanceof TomlError)) throw error
    const [first = '', ...rest] = error.message.replace(/^Invalid TOML document: /, '').split('\n')
    throw new CliError(`${path}:${error.line}:${error.column}: ${first}\n${rest.join('\n')}`)
  }
  const file = { path, text, doc }
  const apps = doc.apps
  if (Array.isArray(apps))
    apps.forEach((app, i) => {
      const vars = (app as Record<string, unknown>)?.env
      if (typeof vars !== 'object' || vars === null || Array.isArray(vars)) return
      for (const [key, value] of Object.entries(vars))
        (vars as Record<string, unknown>)[key] = resolveValue(
          file,
          ['apps', i, 'env', key],
          value,
          env,
        )
    })
  return file
}

/** An env value from the file: a reference resolved; anything else is left for the agent. */
function resolveValue(file: AppsFile, path: Path, value: unknown, env: NodeJS.ProcessEnv): unknown {
  const where = showPath(path)
  const key = String(path.at(-1))
  if (typeof value === 'string') {
    if (!value.includes('${') && (SECRET_NAME.test(key) || SECRET_VALUE.test(value)))
      throw fileError(
        file,
        path,
        `${where}: looks like a secret written in the file; reference it instead: "\${${key}}" (from the environment) or { file = "~/.config/toehold/${key.toLowerCase()}" }`,
      )
    return value.replace(REFERENCE, (_, name: string) => {
      const found = env[name]
      if (found === undefined)
        throw fileError(file, path, `${where}: \${${name}} is not set in the environment`)
      return found
    })
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { file: from, ...rest } = value as Record<string, unknown>
    if (typeof from !== 'string' || Object.keys(rest).length > 0)
      throw fileError(file, path, `${where}: a value is a string or { file = "path" }`)
    const target = resolve(dirname(file.path), from.replace(/^~(?=$|\/)/, homedir()))
    try {
      return readSecret(target)
    } catch (error) {
      throw fileError(file, path, `${where}: cannot read ${from}: ${(error as Error).message}`)
    }
  }
  return value
}

/** A secret file's text minus one trailing newline; bounded like the agent's variables. */
function readSecret(path: string): string {
  let size: number
  try {
    size = statSync(path).size
  } catch (error) {
    throw new Error((error as NodeJS.ErrnoException).code ?? String(error))
  }
  if (size > MAX_SECRET_FILE) throw new Error('larger than 64 KiB')
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '')
}

/**
 * The line of the key at `path` (`apps[i].key`, `apps[i].env.KEY`, …), else of the nearest
 * table or key around it; null when the file has none of them. A line scan, not a parser: the
 * file already parsed, this only points at where a key is written.
 */
export function lineOf(text: string, path: Path): number | null {
  const lines = new Map<string, number>()
  const note = (at: Path, line: number) => {
    const id = JSON.stringify(at)
    if (!lines.has(id)) lines.set(id, line)
  }
  let table: Path = []
  let app = -1
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (/^\[\[\s*apps\s*\]\]/.test(line)) {
      app += 1
      table = ['apps', app]
      note(table, i + 1)
      return
    }
    const sub = /^\[\s*apps\.([A-Za-z0-9_-]+)\s*\]/.exec(line)
    if (sub?.[1]) {
      table = ['apps', app, sub[1]]
      note(table, i + 1)
      return
    }
    const key = /^(?:"([^"]+)"|([A-Za-z0-9_.-]+))\s*=(.*)$/.exec(line)
    if (!key) return
    const at = [...table, ...(key[1] !== undefined ? [key[1]] : (key[2] ?? '').split('.'))]
    note(at, i + 1)
    // An inline table on the same line: its keys are there too.
    for (const inner of (key[3] ?? '').matchAll(/[{,]\s*(?:"([^"]+)"|([A-Za-z0-9_-]+))\s*=/g))
      note([...at, inner[1] ?? inner[2] ?? ''], i + 1)
  })
  for (let n = path.length; n > 0; n--) {
    const found = lines.get(JSON.stringify(path.slice(0, n)))
    if (found) return found
  }
  return null
}
