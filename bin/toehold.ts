#!/usr/bin/env node
// The one `toehold` executable: `relay` and `agent` run the two programs; every other
// command is a client of the local agent's API (and loads only what a client needs).
import { Command, Option } from 'commander'
import { registerClientCommands } from '../agent/cli/index.ts'
import { VERSION } from '../shared/version.ts'

/** `--json` on the long-running commands: their output is the log, so make it JSON lines. */
function jsonLogs<T extends { json?: boolean }>(options: T): T {
  if (options.json) process.env.TOEHOLD_LOG_JSON = '1'
  return options
}

const program = new Command('toehold')
  .description('Deploy the apps on your home box the moment you push.')
  .version(VERSION)
  .showHelpAfterError()

program
  .command('relay')
  .description('run the public relay that receives webhooks and forwards them to agents')
  .option('--port <port>', 'port to listen on (env PORT)', undefined)
  .option('--host <host>', 'address to bind (env RELAY_HOST)', undefined)
  .option('--data <dir>', 'data directory (env RELAY_DATA_DIR)', undefined)
  .option('--public-url <url>', 'public base URL of webhook URLs (env RELAY_PUBLIC_URL)')
  .option('--json', 'log JSON lines even on a terminal (env TOEHOLD_LOG_JSON)')
  .addHelpText(
    'after',
    '\nExample:\n  RELAY_PUBLIC_URL=https://relay.example.com toehold relay --port 8080 --data /var/lib/toehold-relay',
  )
  .action(async (options) => (await import('../relay/main.ts')).runRelay(jsonLogs(options)))

program
  .command('agent')
  .description('run the home agent: keeps a tunnel to the relay, verifies webhooks, deploys')
  .option('--relay <url>', 'relay URL, e.g. wss://relay.example.com (env TOEHOLD_RELAY)')
  .option('--home <dir>', 'state directory (env TOEHOLD_HOME, default ~/.toehold)')
  .option('--api-port <port>', 'local API and dashboard port (default 7171)')
  .option(
    '--api-host <host>',
    'address for the local API (default 127.0.0.1; open to a LAN with care)',
  )
  .option(
    '--http-port <port>',
    'one shared port for every app added with --hostname, routed by Host (env TOEHOLD_HTTP_PORT)',
  )
  .option(
    '--api-name <names>',
    'host names the local API answers to besides localhost and IP addresses, comma-separated (env TOEHOLD_API_NAMES), e.g. homebox.local',
  )
  .addOption(
    new Option(
      '--registration-token <token>',
      "the relay's registration token, first connection only",
    ).env('TOEHOLD_REGISTRATION_TOKEN'),
  )
  .option('--json', 'log JSON lines even on a terminal (env TOEHOLD_LOG_JSON)')
  .addHelpText(
    'after',
    '\nExample:\n  TOEHOLD_REGISTRATION_TOKEN=… toehold agent --relay wss://relay.example.com',
  )
  .action(async (options) => (await import('../agent/main.ts')).runAgent(jsonLogs(options)))

registerClientCommands(program)

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`toehold: ${error.message}\n`)
  process.exit(1)
})
