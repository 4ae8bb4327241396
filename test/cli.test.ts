// Every command has --help with an example and takes --json; a missing or wrong agent is one
// clear line and a non-zero exit.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { it } from 'node:test'
import { toehold } from './helpers/cli.ts'
import { spawnToehold, tempDir } from './helpers/procs.ts'

const home = tempDir()

/** Subcommand names listed in a help text's "Commands:" section. */
function subcommands(help: string): string[] {
  const section = help.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? ''
  return section
    .split('\n')
    .map((line) => /^ {2}([a-z-]+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help')
}

it('gives every command --help with an example and a --json option', async () => {
  const leaves: string[][] = []
  const visit = async (path: string[]) => {
    const { stdout, code } = await toehold(home, [...path, '--help'])
    assert.equal(code, 0, path.join(' '))
    const children = subcommands(stdout)
    if (children.length === 0) {
      leaves.push(path)
      assert.match(stdout, /\nExample:\n {2}.*\btoehold /, `${path.join(' ')} has an example`)
      assert.match(stdout, /--json/, `${path.join(' ')} takes --json`)
    }
    await Promise.all(children.map((child) => visit([...path, child])))
  }
  await visit([])
  const names = leaves.map((leaf) => leaf.join(' ')).sort()
  for (const expected of [
    'relay',
    'agent',
    'app add',
    'app list',
    'app remove',
    'webhook enable',
    'webhook disable',
    'webhook status',
    'webhook rotate',
    'deploy',
    'rollback',
    'start',
    'stop',
    'restart',
    'status',
    'logs',
    'env set',
    'env unset',
    'env list',
    'apply',
    'export',
  ]) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`)
  }
})

it('says in one line when no agent is set up, not running, or refuses the key', async () => {
  const none = await toehold(home, ['status'])
  assert.equal(none.code, 1)
  assert.equal(
    none.stderr,
    `toehold: no agent found in ${home}: start one with \`toehold agent\` (or pass --home / --api)\n`,
  )

  const gone = tempDir()
  mkdirSync(join(gone, 'agent'))
  writeFileSync(
    join(gone, 'agent', 'agent.json'),
    JSON.stringify({ api: 'http://127.0.0.1:9', apiKey: 'thk_x' }),
  )
  const down = await toehold(gone, ['app', 'list', '--json'])
  assert.equal(down.code, 1)
  assert.equal(
    down.stderr,
    'toehold: the agent is not running at http://127.0.0.1:9: start it with `toehold agent`\n',
  )
  assert.deepEqual(down.json, {
    error: 'the agent is not running at http://127.0.0.1:9: start it with `toehold agent`',
  })

  const server = createServer((_req, res) => res.writeHead(401).end('{"error":"unauthorized"}'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const wrong = tempDir()
  mkdirSync(join(wrong, 'agent'))
  writeFileSync(
    join(wrong, 'agent', 'agent.json'),
    JSON.stringify({ api: `http://127.0.0.1:${port}`, apiKey: 'thk_wrong' }),
  )
  const refused = await toehold(wrong, ['status'])
  server.close()
  assert.equal(refused.code, 1)
  assert.match(
    refused.stderr,
    /^toehold: the agent at http:\/\/127\.0\.0\.1:\d+ rejected the API key .*\n$/,
  )
})

it('serves the local API where --api-host says, and warns when that is not loopback', async () => {
  const own = tempDir()
  const agent = spawnToehold(['agent', '--home', own, '--api-port', '0', '--api-host', '127.0.0.2'])
  try {
    const ready = await agent.waitFor((line) => line.msg === 'local API listening')
    const api = new URL(ready.api as string)
    assert.equal(api.hostname, '127.0.0.2')
    assert.equal((await fetch(`${api.origin}/status`)).status, 401, 'there, and keyed')
    await assert.rejects(fetch(`http://127.0.0.1:${api.port}/status`), 'not on 127.0.0.1')
    const status = await toehold(own, ['status', '--json'])
    assert.equal(status.code, 0, 'the CLI finds it there')
    assert.ok(!agent.lines.some((line) => /open to the network/.test(String(line.msg))))
  } finally {
    await agent.kill()
  }

  const open = spawnToehold(['agent', '--home', own, '--api-port', '0', '--api-host', '0.0.0.0'])
  try {
    const warning = await open.waitFor((line) => /open to the network/.test(String(line.msg)))
    assert.equal(warning.level, 40)
    const ready = await open.waitFor((line) => line.msg === 'local API listening')
    assert.equal(new URL(ready.api as string).hostname, '127.0.0.1', 'a URL a browser opens')
    const status = await toehold(own, ['status', '--json'])
    assert.equal(status.code, 0, 'the CLI reaches a wildcard address through loopback')
  } finally {
    await open.kill()
  }
})
