declare module 'parse-prometheus-text-format' {
  /** Families of a Prometheus text exposition (the package ships no types). */
  export default function parsePrometheusTextFormat(text: string): Array<{ name: string; help: string; type: string; metrics: Array<Record<string, any>> }>;
}
