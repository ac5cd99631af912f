"use client";
import { useId, useState } from "react";
import { Area, AreaChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";
import { hhmm, type ChartRow } from "./series.ts";

/**
 * One time-series chart with its text alternative. The SVG is decoration for
 * sighted mouse users (aria-hidden, not focusable); screen readers get a
 * summary (latest, average and peak of each line) and everyone can open the
 * same numbers as a table.
 */
export interface ChartLine {
  key: keyof Omit<ChartRow, "t">;
  name: string;
  color: string;
}

export function TrafficChart({
  title,
  rows,
  lines,
  format,
  axisFormat = format,
  rangeLabel,
  integers = false,
}: {
  title: string;
  rows: ChartRow[];
  lines: ChartLine[];
  format: (n: number) => string;
  /** Shorter labels for the Y axis (the title carries the unit). */
  axisFormat?: (n: number) => string;
  rangeLabel: string;
  /** Counts (connections): whole-number ticks only. */
  integers?: boolean;
}) {
  const id = useId();
  const [tableOpen, setTableOpen] = useState(false);
  return (
    <figure className="card chart" aria-labelledby={`${id}-title`}>
      <figcaption>
        <h3 id={`${id}-title`}>{title}</h3>
        <p className="sr-only" aria-live="off">
          {summary(rows, lines, format, rangeLabel)}
        </p>
      </figcaption>
      <div className="chart-box" aria-hidden="true">
        <AreaChart responsive style={{ width: "100%", height: 200 }} data={rows} accessibilityLayer={false} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#dde3ea" />
          <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={hhmm} minTickGap={32} tick={{ fontSize: 11 }} stroke="#5b6675" />
          <YAxis tickFormatter={(v: number) => axisFormat(v)} width={64} tick={{ fontSize: 11 }} stroke="#5b6675" allowDecimals={!integers} />
          <Tooltip
            isAnimationActive={false}
            labelFormatter={(t) => `${hhmm(Number(t))} UTC`}
            formatter={(v) => format(Number(v))}
          />
          <Legend iconType="plainline" wrapperStyle={{ fontSize: 12 }} />
          {lines.map((l) => (
            <Area
              key={l.key}
              dataKey={l.key}
              name={l.name}
              type="monotone"
              stroke={l.color}
              fill={l.color}
              fillOpacity={0.12}
              strokeWidth={2}
              dot={false}
              isAnimationActive={false}
            />
          ))}
        </AreaChart>
      </div>
      <details onToggle={(e) => setTableOpen(e.currentTarget.open)}>
        <summary className="small">Show data as a table</summary>
        {tableOpen ? (
          <div className="table-wrap chart-table">
            <table>
              <caption className="sr-only">
                {title}, {rangeLabel}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Time (UTC)</th>
                  {lines.map((l) => (
                    <th key={l.key} scope="col" className="num">
                      {l.name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {[...rows].reverse().map((r) => (
                  <tr key={r.t}>
                    <th scope="row" className="mono">
                      {hhmm(r.t)}
                    </th>
                    {lines.map((l) => (
                      <td key={l.key} className="num">
                        {format(r[l.key])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </details>
    </figure>
  );
}

function summary(rows: ChartRow[], lines: ChartLine[], format: (n: number) => string, rangeLabel: string): string {
  if (rows.length === 0) return `${rangeLabel}: no data.`;
  const parts = lines.map((l) => {
    let peak = rows[0]!;
    let total = 0;
    for (const r of rows) {
      total += r[l.key];
      if (r[l.key] > peak[l.key]) peak = r;
    }
    const latest = rows[rows.length - 1]!;
    return `${l.name}: now ${format(latest[l.key])}, average ${format(total / rows.length)}, peak ${format(peak[l.key])} at ${hhmm(peak.t)} UTC.`;
  });
  return `${rangeLabel}. ${parts.join(" ")}`;
}
