/** uPlot in React: one chart per mount, resized with its box, redrawn in the theme's colours. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cssVar, onThemeChange } from '../theme';

export interface ChartSeries {
  label: string;
  color: string;
}

export interface MetricChartProps {
  /** uPlot's aligned data: x values ascending, then one array per series (null where it has no point). */
  data: uPlot.AlignedData;
  series: ChartSeries[];
  xLabel: string;
  yLabel: string;
  /** Lines through the points (metrics over steps), or the points alone (a scatter). */
  style: 'lines' | 'points';
  height: number;
  title?: string;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

function paddedRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min === null || max === null) return [0, 1];
  const pad = max > min ? (max - min) * 0.06 : Math.abs(min) * 0.1 || 1;
  return [min - pad, max + pad];
}

export function MetricChart({ data, series, xLabel, yLabel, style, height, title }: MetricChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | undefined>(undefined);
  const latestData = useRef(data);
  latestData.current = data;
  // New data redraws the chart in place; only a new set of series (or theme) builds a new one.
  const shape = JSON.stringify([series, xLabel, yLabel, style, height, title]);

  useEffect(() => {
    const el = box.current!;
    let chart: uPlot | undefined;
    const draw = () => {
      chart?.destroy();
      const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid') }, ticks: { stroke: cssVar('--grid') } };
      const options: uPlot.Options = {
        width: Math.max(200, el.clientWidth),
        height,
        ...(title !== undefined && { title }),
        // A scatter pads its x range: uPlot draws the indexes between the range's ends, so points sharing
        // the smallest or largest x would otherwise be cut off but one.
        scales: { x: { time: false, ...(style === 'points' && { range: paddedRange }) } },
        axes: [
          { ...axis, label: xLabel },
          { ...axis, label: yLabel },
        ],
        cursor: { drag: { x: true, y: false } },
        series: [
          { label: xLabel },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: style === 'lines' ? 1.5 : 0,
            spanGaps: true,
            ...(style === 'points' && { paths: () => null, points: { show: true, size: 7, fill: s.color, stroke: s.color } }),
          })),
        ],
      };
      chart = new uPlot(options, latestData.current, el);
      chartRef.current = chart;
    };
    draw();
    const resize = new ResizeObserver(() => chart?.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    const stop = onThemeChange(draw);
    return () => {
      stop();
      resize.disconnect();
      chart?.destroy();
      chartRef.current = undefined;
    };
  }, [shape]);

  useEffect(() => {
    chartRef.current?.setData(data);
  }, [data]);

  return <div ref={box} className="chart" />;
}
