import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  kind?: 'line' | 'band';
}

/**
 * uPlot draws on a canvas (fast with 100k points, ~45 KB); the chart is created once and
 * given new data, and follows its container's width.
 */
export function Chart(props: { times: number[]; series: ChartSeries[]; height?: number; label: string; /** Unix seconds shown on x: the queried range, not just where buckets fell. */ xRange?: [number, number] }) {
  const box = useRef<HTMLDivElement>(null);
  const xRange = useRef(props.xRange);
  xRange.current = props.xRange;
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const colors = ['#2563eb', '#94a3b8', '#94a3b8', '#dc2626'];
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: props.height ?? 260,
      series: [{}, ...props.series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: s.kind === 'band' ? 1 : 2, dash: s.kind === 'band' ? [4, 4] : undefined, spanGaps: false }))],
      axes: [{}, { size: 60 }],
      scales: { x: { time: true, range: (_u, min, max) => xRange.current ?? [min, max] } },
      legend: { live: true },
      // UTC, like every time the console shows.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    };
    plot.current = new uPlot(opts, [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: props.height ?? 260 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The plot is rebuilt only when its series change; data changes go through setData.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  }, [props.times, props.series]);

  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}
