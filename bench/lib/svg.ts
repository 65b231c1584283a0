/** A small hand-written SVG line plot: no dependency, readable in any browser or on GitHub. */

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Sizes grow by factors: a log axis spaces them evenly. */
  xLog: boolean;
  series: Series[];
  /** Horizontal reference lines (targets). */
  limits?: Array<{ label: string; y: number }>;
}

const PANEL_WIDTH = 440;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 64, right: 16, top: 34, bottom: 72 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** About five round tick values covering [0, max]. */
function ticks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((factor) => factor * power >= rough) ?? 10) * power;
  const values: number[] = [];
  for (let value = 0; value <= max + step / 2; value += step) values.push(value);
  if ((values.at(-1) ?? 0) < max) values.push((values.at(-1) ?? 0) + step);
  return values;
}

function label(value: number): string {
  if (value >= 1_000_000) return `${value / 1_000_000}M`;
  if (value >= 10_000) return `${value / 1000}k`;
  return String(Math.round(value * 100) / 100);
}

function panel(spec: Panel, originX: number, originY: number): string {
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = [...new Set(spec.series.flatMap((series) => series.points.map(([x]) => x)))].sort(
    (a, b) => a - b,
  );
  const ys = [
    ...spec.series.flatMap((series) => series.points.map(([, y]) => y)),
    ...(spec.limits ?? []).map((limit) => limit.y),
  ].filter(Number.isFinite);
  const yTicks = ticks(Math.max(...ys, 0) * 1.05);
  const yMax = yTicks.at(-1) ?? 1;
  const fx = (x: number) => (spec.xLog ? Math.log(x) : x);
  const xMin = fx(xs[0] ?? 1);
  const xMax = fx(xs.at(-1) ?? 2);
  const px = (x: number) =>
    originX + MARGIN.left + (xMax === xMin ? plotWidth / 2 : ((fx(x) - xMin) / (xMax - xMin)) * plotWidth);
  const py = (y: number) => originY + MARGIN.top + plotHeight - (y / yMax) * plotHeight;
  const parts: string[] = [];
  parts.push(
    `<text x="${originX + PANEL_WIDTH / 2}" y="${originY + 20}" text-anchor="middle" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  for (const tick of yTicks) {
    const y = py(tick);
    parts.push(
      `<line x1="${originX + MARGIN.left}" x2="${originX + MARGIN.left + plotWidth}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${originX + MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${label(tick)}</text>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<text x="${px(x)}" y="${originY + MARGIN.top + plotHeight + 16}" text-anchor="middle">${label(x)}</text>`,
    );
  }
  parts.push(
    `<line x1="${originX + MARGIN.left}" x2="${originX + MARGIN.left}" y1="${originY + MARGIN.top}" y2="${originY + MARGIN.top + plotHeight}" stroke="#333"/>`,
    `<line x1="${originX + MARGIN.left}" x2="${originX + MARGIN.left + plotWidth}" y1="${originY + MARGIN.top + plotHeight}" y2="${originY + MARGIN.top + plotHeight}" stroke="#333"/>`,
    `<text x="${originX + MARGIN.left + plotWidth / 2}" y="${originY + MARGIN.top + plotHeight + 34}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text transform="translate(${originX + 16} ${originY + MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  for (const limit of spec.limits ?? []) {
    const y = py(limit.y);
    parts.push(
      `<line x1="${originX + MARGIN.left}" x2="${originX + MARGIN.left + plotWidth}" y1="${y}" y2="${y}" stroke="#c00" stroke-dasharray="2 3"/>`,
      `<text x="${originX + MARGIN.left + plotWidth - 4}" y="${y - 4}" text-anchor="end" fill="#c00">${escapeXml(limit.label)}</text>`,
    );
  }
  for (const series of spec.series) {
    const points = series.points.filter(([, y]) => Number.isFinite(y));
    const path = points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      ...points.map(
        ([x, y]) =>
          `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${series.color}"/>`,
      ),
    );
  }
  // Legend under the axis label, wrapped to the panel's width (about 6 px a character).
  let legendX = originX + MARGIN.left;
  let legendY = originY + MARGIN.top + plotHeight + 52;
  for (const series of spec.series) {
    const width = 22 + series.name.length * 6 + 14;
    if (legendX + width > originX + PANEL_WIDTH && legendX > originX + MARGIN.left) {
      legendX = originX + MARGIN.left;
      legendY += 14;
    }
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 18}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${legendX + 22}" y="${legendY}">${escapeXml(series.name)}</text>`,
    );
    legendX += width;
  }
  return parts.join('\n');
}

/** Panels in a grid of `columns`, with a caption line under the title. */
export function renderPlots(title: string, caption: string, panels: Panel[], columns = 2): string {
  const rows = Math.ceil(panels.length / columns);
  const width = PANEL_WIDTH * columns;
  const height = 50 + PANEL_HEIGHT * rows;
  const body = panels.map((spec, index) =>
    panel(spec, (index % columns) * PANEL_WIDTH, 50 + Math.floor(index / columns) * PANEL_HEIGHT),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="title">`,
    `<title id="title">${escapeXml(`${title}: ${panels.map((spec) => spec.title).join('; ')}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">${escapeXml(caption)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
