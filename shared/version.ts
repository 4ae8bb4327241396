// The version every part reports (CLI --version, the agent's hello, agent.json): package.json's.
import pkg from '../package.json' with { type: 'json' }

export const VERSION: string = pkg.version
