// toehold deploy|rollback|start|stop|restart|logs — filled in with the deploy engine.
import type { Command } from 'commander'

export function registerDeploys(_program: Command): void {}
