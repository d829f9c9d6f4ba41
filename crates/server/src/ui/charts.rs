//! Charts as inline SVG, drawn on the server: no script, no library, a few kilobytes. Every
//! chart has a `<title>` for screen readers and each mark its own, so a chart reads as text.

use std::fmt::Write as _;

use jiff::Timestamp;
use minijinja::HtmlEscape;

use crate::health::view::MetricSeries;

/// A bar chart as inline SVG: one bar per `(label, value, part)`, `part` of it drawn in red.
/// Labels are dates and the numbers are ours, so nothing user-written reaches the SVG.
pub(super) fn bars(series: &[(String, f64, f64)], unit: &str) -> String {
    let (width, height, bar) = (640.0, 180.0, 640.0 / series.len().max(1) as f64);
    let top = series
        .iter()
        .map(|(_, v, _)| *v)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let scale = (height - 30.0) / top;
    let mut svg = format!(
        r#"<svg role="img" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{unit} per week, highest {top}</title>"#
    );
    for (i, (label, value, part)) in series.iter().enumerate() {
        let x = i as f64 * bar + 4.0;
        let h = value * scale;
        let red = part * scale;
        svg.push_str(&format!(
            r##"<g><title>week of {label}: {value} {unit}</title><rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#0b6b2e"/><rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{red:.1}" fill="#a50e0e"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{label}</text></g>"##,
            height - 16.0 - h,
            bar - 8.0,
            height - 16.0 - red,
            bar - 8.0,
            x + (bar - 8.0) / 2.0,
            height - 3.0,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Chart size in SVG units.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 160.0;
/// Room under the plot for the time axis labels.
const AXIS: f64 = 16.0;

/// A metric over `from..to` as a line, with its target (dashed, green) and rollback threshold
/// (dashed, red) as horizontal lines, so a breach is seen at a glance.
pub(super) fn line(metric: &MetricSeries, from: Timestamp, to: Timestamp) -> String {
    let span = (to.as_second() - from.as_second()).max(1) as f64;
    let top = metric
        .points
        .iter()
        .map(|p| p.value)
        .chain(metric.target)
        .chain(metric.rollback_threshold)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.1;
    let plot = HEIGHT - AXIS;
    let x = |at: Timestamp| (at.as_second() - from.as_second()) as f64 / span * WIDTH;
    let y = |value: f64| plot - value / top * plot;
    let unit = HtmlEscape(&metric.unit);
    let name = HtmlEscape(&metric.name);
    let mut svg = format!(
        r#"<svg role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{name} over time ({} samples)</title>"#,
        metric.points.len()
    );
    for (value, color, what) in [
        (metric.target, "#0b6b2e", "target"),
        (metric.rollback_threshold, "#a50e0e", "rollback threshold"),
    ] {
        if let Some(value) = value {
            let _ = write!(
                svg,
                r#"<line x1="0" x2="{WIDTH}" y1="{0:.1}" y2="{0:.1}" stroke="{color}" stroke-dasharray="6 4"><title>{what}: {value} {unit}</title></line>"#,
                y(value)
            );
        }
    }
    let points: Vec<String> = metric
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.at), y(p.value)))
        .collect();
    if !points.is_empty() {
        let _ = write!(
            svg,
            r##"<polyline fill="none" stroke="#1a4f8b" stroke-width="2" points="{}"/>"##,
            points.join(" ")
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="0" x2="{WIDTH}" y1="{plot}" y2="{plot}" stroke="#767676"/><text x="0" y="{HEIGHT}" font-size="10">{}</text><text x="{WIDTH}" y="{HEIGHT}" font-size="10" text-anchor="end">{}</text></svg>"##,
        from.strftime("%H:%M UTC"),
        to.strftime("%H:%M UTC")
    );
    svg
}
