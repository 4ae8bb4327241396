// The structure docs/ARCHITECTURE.md draws, enforced: which folder may import which, no cycles
// inside the agent, and client commands that load no server code. Reads the import statements
// of every source file (static and dynamic), so a new file or import is checked without a list.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { test } from 'node:test'

const ROOT = new URL('..', import.meta.url).pathname

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|js)$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
}

type Import = { from: string; to: string; dynamic: boolean; typeOnly: boolean }

const IMPORT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"]([^'"]+)['"]/g

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const found: Import[] = []
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[3] ?? match[4] ?? match[5]
    if (!spec) continue
    const to = spec.startsWith('.') ? normalize(join(dirname(file), spec)) : spec
    found.push({ from: file, to, dynamic: match[4] !== undefined, typeOnly: Boolean(match[2]) })
  }
  return found
}

const FILES = ['bin', 'shared', 'relay', 'agent'].flatMap(sources)
const IMPORTS = FILES.flatMap(importsOf)

/** The agent's layers, bottom first; a layer may import its own and those below it. */
const LAYERS = [
  'agent/core',
  'agent/state',
  'agent/hosts',
  'agent/tunnel',
  'agent/serve',
  'agent/deploy',
  'agent/report',
  'agent/intake',
  'agent/apply',
  'agent/api',
  'agent/dashboard',
]
const layerOf = (file: string) => LAYERS.findIndex((layer) => file.startsWith(`${layer}/`))
const CONTRACT = 'agent/api/contract.ts'
/** What a client command may load of the agent. */
const CLIENT_SAFE = new Set([CONTRACT, 'agent/core/home.ts', 'agent/core/format.ts'])

function problem(i: Import): string | null {
  const { from, to } = i
  const local = to.startsWith('agent/') || to.startsWith('relay/') || to.startsWith('shared/')
  if (from.startsWith('bin/'))
    return !local || i.dynamic || to.startsWith('agent/cli/') || to.startsWith('shared/')
      ? null
      : 'bin/ loads the relay and the agent only lazily (import())'
  if (from === CONTRACT) return 'the contract imports nothing'
  if (from.startsWith('shared/') && local && !to.startsWith('shared/'))
    return 'shared/ imports neither relay/ nor agent/'
  if (from.startsWith('relay/') && to.startsWith('agent/'))
    return 'the relay never imports the agent'
  if (from.startsWith('agent/') && to.startsWith('relay/'))
    return 'the agent never imports the relay'
  if (from.startsWith('agent/cli/')) {
    if (to.startsWith('agent/') && !to.startsWith('agent/cli/') && !CLIENT_SAFE.has(to))
      return `the CLI imports only ${[...CLIENT_SAFE].join(', ')} of the agent`
    return null
  }
  if (!to.startsWith('agent/') || to === CONTRACT) return null
  if (to.startsWith('agent/cli/')) return 'only bin/ imports the CLI'
  const own = layerOf(from)
  if (own === -1) return null // main, config, start: the top, they wire everything
  const target = layerOf(to)
  if (target === -1) return `${to} is above every layer`
  if (target > own) return `${LAYERS[own]} may not import from ${LAYERS[target]} (a higher layer)`
  return null
}

test('every import follows the layer rules of docs/ARCHITECTURE.md', () => {
  const broken = IMPORTS.map((i) => [i, problem(i)] as const)
    .filter(([, why]) => why !== null)
    .map(([i, why]) => `${i.from} → ${i.to}: ${why}`)
  assert.deepEqual(broken, [])
})

test('the rules catch what they should', () => {
  const check = (from: string, to: string) => problem({ from, to, dynamic: false, typeOnly: false })
  assert.match(check('agent/state/apps.ts', 'agent/deploy/types.ts') ?? '', /higher layer/)
  assert.match(check('agent/cli/apps.ts', 'agent/state/apps.ts') ?? '', /the CLI imports only/)
  assert.match(check('relay/app.ts', 'agent/core/git.ts') ?? '', /never imports the agent/)
  assert.match(check(CONTRACT, 'agent/core/format.ts') ?? '', /imports nothing/)
  assert.match(check('bin/toehold.ts', 'agent/main.ts') ?? '', /only lazily/)
  assert.equal(check('agent/dashboard/index.ts', 'agent/api/server.ts'), null)
})

test('no import cycles inside the agent', () => {
  const edges = new Map<string, string[]>()
  for (const i of IMPORTS) {
    if (!i.from.startsWith('agent/') || !i.to.startsWith('agent/')) continue
    edges.set(i.from, [...(edges.get(i.from) ?? []), i.to])
  }
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '))
      return
    }
    state.set(file, 'open')
    for (const next of edges.get(file) ?? []) visit(next, [...path, file])
    state.set(file, 'done')
  }
  for (const file of edges.keys()) visit(file, [])
  assert.deepEqual(cycles, [])
})

test('client commands load no server code: nothing of the agent but the allowed modules, no server libraries', () => {
  // Everything bin/toehold.ts loads before a client command runs: its static imports, followed.
  const seen = new Set<string>()
  const walk = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const i of IMPORTS.filter((i) => i.from === file && !i.dynamic && !i.typeOnly)) {
      if (i.to.startsWith('agent/') || i.to.startsWith('shared/') || i.to.startsWith('relay/'))
        walk(i.to)
      else seen.add(`package:${i.to}`)
    }
  }
  walk('bin/toehold.ts')
  const loaded = [...seen]
  const server = loaded.filter(
    (file) =>
      file.startsWith('relay/') ||
      (file.startsWith('agent/') && !file.startsWith('agent/cli/') && !CLIENT_SAFE.has(file)),
  )
  assert.deepEqual(server, [])
  const packages = loaded.filter((file) => file.startsWith('package:')).map((p) => p.slice(8))
  for (const heavy of [
    'hono',
    'jose',
    'nanoid',
    'pino',
    'prom-client',
    'ws',
    'simple-git',
    'valibot',
  ])
    assert.ok(!packages.some((p) => p === heavy || p.startsWith(`${heavy}/`)), `loads ${heavy}`)
})
