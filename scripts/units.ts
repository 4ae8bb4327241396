// `node scripts/units.ts`: writes ops/systemd/ from the same code as `toehold service install`,
// with the paths of a system-wide install (NodeSource's Node, `npm install -g toehold` as root).
// test/service.test.ts fails when the committed files differ from this output.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agentUnit, relayUnit, unitName } from '../agent/cli/units.ts'

const ROOT = new URL('..', import.meta.url).pathname
const installed = { node: '/usr/bin/node', entry: '/usr/lib/node_modules/toehold/bin/toehold.js' }

export const EXAMPLES = {
  [unitName('agent')]: agentUnit(
    {
      ...installed,
      envFile: '%h/.config/toehold/agent.env',
      path: '%h/.bun/bin:/usr/local/bin:/usr/bin:/bin',
    },
    '~/.config/systemd/user/',
  ),
  [unitName('relay')]: relayUnit(
    { ...installed, envFile: '/etc/toehold/relay.env' },
    '/etc/systemd/system/',
  ),
}

if (import.meta.main) {
  for (const [name, text] of Object.entries(EXAMPLES))
    writeFileSync(join(ROOT, 'ops/systemd', name), text)
}
