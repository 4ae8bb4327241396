// The agent's Prometheus metrics (prom-client), on a registry of its own, made at their first
// use (shared/metrics.ts): an idle agent records nothing until /metrics is scraped.
import { lazyMetrics } from '../../shared/metrics.ts'

export type AgentMetrics = ReturnType<typeof createAgentMetrics>

/** `relayConnected` says whether the relay welcomed us: read at a scrape, not recorded. */
export function createAgentMetrics(relayConnected: () => boolean = () => false) {
  return lazyMetrics(({ Counter, collectDefaultMetrics, Gauge, Histogram, Registry }) => {
    const registry = new Registry()
    collectDefaultMetrics({ register: registry, prefix: 'toehold_agent_' })
    const gauge = (name: string, help: string, labelNames: string[] = []) =>
      new Gauge({ name, help, labelNames, registers: [registry] })
    return {
      registry,
      relayConnected: new Gauge({
        name: 'toehold_agent_relay_connected',
        help: '1 while the tunnel to the relay is open.',
        registers: [registry],
        collect() {
          this.set(relayConnected() ? 1 : 0)
        },
      }),
      appUp: gauge('toehold_app_up', '1 while the app runs and passed its health check.', ['app']),
      appPid: gauge('toehold_app_pid', 'Process id of the running app (0 when stopped).', ['app']),
      appCpu: gauge('toehold_app_cpu_seconds', 'CPU seconds used by the app process group.', [
        'app',
      ]),
      appMemory: gauge('toehold_app_memory_bytes', 'Resident memory of the app process group.', [
        'app',
      ]),
      appRestarts: new Counter({
        name: 'toehold_app_restarts_total',
        help: 'Restarts by the supervisor after the app exited on its own.',
        labelNames: ['app'],
        registers: [registry],
      }),
      deployments: new Counter({
        name: 'toehold_deployments_total',
        help: 'Finished deployments by result (live, failed, superseded, unchanged).',
        labelNames: ['app', 'result'],
        registers: [registry],
      }),
      deploymentDuration: new Histogram({
        name: 'toehold_deployment_duration_seconds',
        help: 'From a deployment starting to it being live or failed.',
        labelNames: ['app'],
        buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
        registers: [registry],
      }),
      lastDeploy: gauge(
        'toehold_app_last_deploy_timestamp_seconds',
        'When the app last went live.',
        ['app'],
      ),
      appRequests: new Counter({
        name: 'toehold_app_requests_total',
        help: "Requests to the app's public port by status code (499: the client left first).",
        labelNames: ['app', 'code'],
        registers: [registry],
      }),
      appInflight: gauge('toehold_app_inflight', 'Requests to the app in flight.', ['app']),
      appRequestDuration: new Histogram({
        name: 'toehold_app_request_duration_seconds',
        help: 'From a request arriving to its response ending, through the proxy.',
        labelNames: ['app'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
      switches: new Counter({
        name: 'toehold_app_switches_total',
        help: 'Traffic switched to a new release (deploy, rollback, restart, crash restart).',
        labelNames: ['app'],
        registers: [registry],
      }),
      drains: new Counter({
        name: 'toehold_app_drains_total',
        help: 'Old releases drained: clean (everything ended) or cut (the drain timeout ended it).',
        labelNames: ['app', 'result'],
        registers: [registry],
      }),
      webhooks: new Counter({
        name: 'toehold_webhooks_total',
        help: 'Webhook deliveries answered, by app and result.',
        labelNames: ['app', 'result'],
        registers: [registry],
      }),
    }
  })
}
