// Types for parse-prometheus-text-format (the package ships none). Values stay strings, as parsed.
declare module 'parse-prometheus-text-format' {
  export type PrometheusSample = {
    value?: string
    labels?: Record<string, string>
    /** Histograms: upper bound ("le") → cumulative count. */
    buckets?: Record<string, string>
    quantiles?: Record<string, string>
    count?: string
    sum?: string
  }
  export type PrometheusFamily = {
    name: string
    help: string
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
    metrics: PrometheusSample[]
  }
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[]
}
