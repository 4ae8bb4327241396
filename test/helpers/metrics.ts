// Reading a /metrics page in tests: Prometheus text parsed, a family or one sample's value.
import parsePrometheus, { type PrometheusFamily } from 'parse-prometheus-text-format'
import { send } from './http.ts'

export type Metrics = PrometheusFamily[]

export async function scrape(relayUrl: string, token?: string): Promise<Metrics> {
  const res = await send(`${relayUrl}/metrics`, {
    method: 'GET',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return parsePrometheus(res.body.toString('utf8'))
}

export function family(metrics: Metrics, name: string): PrometheusFamily {
  const found = metrics.find((f) => f.name === name)
  if (!found) throw new Error(`no metric family ${name}`)
  return found
}

/** Value of a counter/gauge sample whose labels include `labels` (0 when absent). */
export function value(metrics: Metrics, name: string, labels: Record<string, string> = {}): number {
  const sample = family(metrics, name).metrics.find((m) =>
    Object.entries(labels).every(([key, v]) => m.labels?.[key] === v),
  )
  return sample?.value === undefined ? 0 : Number(sample.value)
}
