//! Stacked bar charts as inline SVG, drawn on the server so the desk's pages need no script:
//! vertical bars (fines by day) and horizontal bars (fines by district). The output depends only
//! on the data (fixed geometry, one decimal place), every text in it is escaped, and a chart
//! with nothing to show says so rather than dividing by zero.

use std::fmt::Write;

/// One stacked part of every bar, drawn bottom (or left) first.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub name: String,
    pub color: &'static str,
}

/// One bar: its label and one value per series.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub label: String,
    pub values: Vec<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// The chart's accessible name (`<title>`, `aria-label`).
    pub title: String,
    /// What it says when it has nothing to show.
    pub no_data: String,
    pub series: Vec<Series>,
    pub bars: Vec<Bar>,
}

/// A drawn rectangle in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

const WIDTH: f64 = 720.0;
const LEGEND_HEIGHT: f64 = 36.0;
/// Vertical chart: its height and the margins around the plot.
const V_HEIGHT: f64 = 320.0;
const V_LEFT: f64 = 56.0;
const V_RIGHT: f64 = 16.0;
const V_BOTTOM: f64 = 48.0;
/// Horizontal chart: a row per bar, labels on the left.
const H_ROW: f64 = 26.0;
const H_LEFT: f64 = 170.0;
const H_RIGHT: f64 = 48.0;
const H_BOTTOM: f64 = 32.0;
/// Bars take this share of their slot; the rest is the gap.
const BAR_SHARE: f64 = 0.7;
/// Width given to one label under a vertical bar ("11-21" at 11 px, with room to breathe).
const V_LABEL_WIDTH: f64 = 44.0;
const H_LABEL_CHARS: usize = 24;

/// The axis: a round step and the number of steps up to the smallest multiple of it that holds
/// `max` — at most five steps, the step 1, 2 or 5 times a power of ten.
pub(super) fn axis(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let mut magnitude: u64 = 1;
    loop {
        for step in [magnitude, magnitude.saturating_mul(2), magnitude.saturating_mul(5)] {
            let steps = max.div_ceil(step);
            if steps <= 5 {
                return (step, steps);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

fn totals(chart: &Chart) -> Vec<u64> {
    chart.bars.iter().map(|bar| bar.values.iter().sum()).collect()
}

fn is_empty(chart: &Chart) -> bool {
    totals(chart).iter().all(|total| *total == 0)
}

/// Where a vertical chart draws each bar's segments (`None` for a zero value), and its axis.
pub(super) fn vertical_layout(chart: &Chart) -> (Vec<Vec<Option<Rect>>>, (u64, u64)) {
    let (step, steps) = axis(totals(chart).into_iter().max().unwrap_or(0));
    let top = step as f64 * steps as f64;
    let (plot_width, plot_height) = (WIDTH - V_LEFT - V_RIGHT, V_HEIGHT - LEGEND_HEIGHT - V_BOTTOM);
    let base = V_HEIGHT - V_BOTTOM;
    let slot = plot_width / chart.bars.len().max(1) as f64;
    let width = slot * BAR_SHARE;
    let bars = chart
        .bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let x = V_LEFT + i as f64 * slot + (slot - width) / 2.0;
            stack(&bar.values, |below, value| {
                let height = value / top * plot_height;
                Rect { x, y: base - below / top * plot_height - height, width, height }
            })
        })
        .collect();
    (bars, (step, steps))
}

/// Where a horizontal chart draws each bar's segments, and its axis.
pub(super) fn horizontal_layout(chart: &Chart) -> (Vec<Vec<Option<Rect>>>, (u64, u64)) {
    let (step, steps) = axis(totals(chart).into_iter().max().unwrap_or(0));
    let right = step as f64 * steps as f64;
    let plot_width = WIDTH - H_LEFT - H_RIGHT;
    let height = H_ROW * BAR_SHARE;
    let bars = chart
        .bars
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let y = LEGEND_HEIGHT + i as f64 * H_ROW + (H_ROW - height) / 2.0;
            stack(&bar.values, |before, value| Rect {
                x: H_LEFT + before / right * plot_width,
                y,
                width: value / right * plot_width,
                height,
            })
        })
        .collect();
    (bars, (step, steps))
}

/// Each value's rectangle, given the sum of the values before it.
fn stack(values: &[u64], place: impl Fn(f64, f64) -> Rect) -> Vec<Option<Rect>> {
    let mut before = 0u64;
    values
        .iter()
        .map(|&value| {
            let rect = (value > 0).then(|| place(before as f64, value as f64));
            before += value;
            rect
        })
        .collect()
}

/// The chart with bars standing on the horizontal axis, one per label (a day).
pub(crate) fn vertical(chart: &Chart) -> String {
    if is_empty(chart) {
        return empty(chart);
    }
    let (bars, (step, steps)) = vertical_layout(chart);
    let mut svg = open(chart, V_HEIGHT);
    let (plot_height, base) = (V_HEIGHT - LEGEND_HEIGHT - V_BOTTOM, V_HEIGHT - V_BOTTOM);
    for tick in 0..=steps {
        let y = base - tick as f64 / steps as f64 * plot_height;
        let _ = write!(
            svg,
            r##"<line x1="{V_LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#dde3ea"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - V_RIGHT,
            V_LEFT - 6.0,
            y + 4.0,
            tick.saturating_mul(step)
        );
    }
    let every = label_every(chart.bars.len());
    let slot = (WIDTH - V_LEFT - V_RIGHT) / chart.bars.len() as f64;
    for (i, (bar, rects)) in chart.bars.iter().zip(&bars).enumerate() {
        group(&mut svg, chart, bar, rects);
        // Counted from the last bar, so the latest day always has its label.
        if (chart.bars.len() - 1 - i).is_multiple_of(every) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                V_LEFT + (i as f64 + 0.5) * slot,
                base + 16.0,
                escape(&bar.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The chart with bars growing to the right, one row per label (a district).
pub(crate) fn horizontal(chart: &Chart) -> String {
    if is_empty(chart) {
        return empty(chart);
    }
    let (bars, (step, steps)) = horizontal_layout(chart);
    let height = LEGEND_HEIGHT + chart.bars.len() as f64 * H_ROW + H_BOTTOM;
    let mut svg = open(chart, height);
    let (plot_width, axis_y) = (WIDTH - H_LEFT - H_RIGHT, height - H_BOTTOM);
    for tick in 0..=steps {
        let x = H_LEFT + tick as f64 / steps as f64 * plot_width;
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{LEGEND_HEIGHT}" x2="{x:.1}" y2="{axis_y:.1}" stroke="#dde3ea"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            axis_y + 16.0,
            tick.saturating_mul(step)
        );
    }
    for (i, (bar, rects)) in chart.bars.iter().zip(&bars).enumerate() {
        let middle = LEGEND_HEIGHT + i as f64 * H_ROW + H_ROW / 2.0 + 4.0;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{middle:.1}" text-anchor="end">{}</text>"#,
            H_LEFT - 8.0,
            escape(&shorten(&bar.label, H_LABEL_CHARS))
        );
        group(&mut svg, chart, bar, rects);
        let end = rects.iter().flatten().last().map_or(H_LEFT, |r| r.x + r.width);
        let total: u64 = bar.values.iter().sum();
        let _ = write!(svg, r#"<text x="{:.1}" y="{middle:.1}">{total}</text>"#, end + 4.0);
    }
    svg.push_str("</svg>");
    svg
}

/// The `<svg>` element with its accessible name and the legend.
fn open(chart: &Chart, height: f64) -> String {
    let title = escape(&chart.title);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{title}" font-family="system-ui, sans-serif" font-size="11" style="max-width:100%;height:auto"><title>{title}</title>"#
    );
    let mut x = V_LEFT;
    for series in &chart.series {
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="12" width="12" height="12" fill="{}"/><text x="{:.1}" y="22">{}</text>"#,
            series.color,
            x + 16.0,
            escape(&series.name)
        );
        x += 32.0 + text_width(&series.name);
    }
    svg
}

/// About how wide `text` is drawn at 11 px: a Chinese character is as wide as it is high, a Latin
/// one about two thirds of that.
fn text_width(text: &str) -> f64 {
    text.chars().map(|c| if c.is_ascii() { 7.0 } else { 11.0 }).sum()
}

/// One bar's segments in a group whose `<title>` (a tooltip, and what a screen reader reads)
/// names the bar and each value.
fn group(svg: &mut String, chart: &Chart, bar: &Bar, rects: &[Option<Rect>]) {
    let parts: Vec<String> = chart.series.iter().zip(&bar.values).map(|(s, v)| format!("{} {v}", s.name)).collect();
    let total: u64 = bar.values.iter().sum();
    let _ = write!(svg, "<g><title>{}: {} (total {total})</title>", escape(&bar.label), escape(&parts.join(", ")));
    for (series, rect) in chart.series.iter().zip(rects) {
        if let Some(r) = rect {
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
                r.x, r.y, r.width, r.height, series.color
            );
        }
    }
    svg.push_str("</g>");
}

/// Label every n-th bar, so that labels never overlap.
fn label_every(bars: usize) -> usize {
    let fits = ((WIDTH - V_LEFT - V_RIGHT) / V_LABEL_WIDTH).floor().max(1.0) as usize;
    bars.div_ceil(fits).max(1)
}

fn empty(chart: &Chart) -> String {
    let (title, no_data) = (escape(&chart.title), escape(&chart.no_data));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 80" width="{WIDTH}" height="80" role="img" aria-label="{title}: {no_data}" font-family="system-ui, sans-serif" font-size="14" style="max-width:100%;height:auto"><title>{title}</title><text x="{}" y="44" text-anchor="middle" fill="#5b6776">{no_data}</text></svg>"##,
        WIDTH / 2.0
    )
}

fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(max - 1).collect();
    short.push('…');
    short
}

/// Text made safe for SVG content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
