//! The chart: connected percent per strategy per time bucket over the scenario's window, as a
//! self-contained SVG readable without the table (title, axis labels, legend). A second panel
//! shows the 95th percentile time to connect per bucket: in an outage where every strategy
//! eventually connects, that is where they differ.

use std::fmt::Write as _;

use super::report::{Report, Series};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 260.0;
const TITLE_H: f64 = 60.0;
const PANEL_H: f64 = 230.0;
/// Space under a panel for its x axis labels.
const GAP: f64 = 60.0;

/// Line colour and dash per strategy, in report order (colour-blind safe: Okabe–Ito).
const STYLES: [(&str, &str); 4] = [
    ("#000000", "6 4"),
    ("#D55E00", "none"),
    ("#0072B2", "none"),
    ("#009E73", "none"),
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One panel: a y range, its label, and which values of a series it plots.
struct Panel<'a> {
    top: f64,
    y_max: f64,
    y_step: f64,
    y_unit: &'a str,
    y_label: &'a str,
    values: fn(&Series) -> &[Option<f64>],
}

fn plot_w() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn panel(s: &mut String, report: &Report, p: &Panel<'_>) {
    let plot_w = plot_w();
    let t = &report.timeline;
    let buckets = t.calls.len().max(1);
    let hours = report.window_s / 3600.0;
    let bottom = p.top + PANEL_H;
    let x_of = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / buckets as f64;
    let y_of = |v: f64| p.top + PANEL_H * (1.0 - v.min(p.y_max) / p.y_max);

    let mut v = 0.0;
    while v <= p.y_max + 1e-9 {
        let y = y_of(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v}{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            p.y_unit
        );
        v += p.y_step;
    }
    let step = if hours > 24.0 {
        4.0
    } else if hours > 6.0 {
        2.0
    } else {
        (hours / 6.0).max(0.25)
    };
    let mut h = 0.0;
    while h <= hours + 1e-9 {
        let x = LEFT + plot_w * h / hours.max(1e-9);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{h}</text>"##,
            bottom + 5.0,
            bottom + 18.0
        );
        h += step;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{:.1}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#888"/>"##,
        p.top
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">hours since the start of the scenario (call start time)</text>"#,
        LEFT + plot_w / 2.0,
        bottom + 36.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        p.top + PANEL_H / 2.0,
        p.y_label
    );
    // One line per strategy, broken where a bucket has no value. Drawn last to first, so the
    // oracle's dashed line (the limit) stays visible on top of strategies that reach it.
    for (i, series) in t.series.iter().enumerate().rev() {
        let (colour, dash) = STYLES[i % STYLES.len()];
        let mut points = String::new();
        for (b, v) in (p.values)(series).iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(points, "{:.1},{:.1} ", x_of(b), y_of(*v));
            }
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{}"/>"#,
            points.trim_end()
        );
    }
}

fn legend(s: &mut String, report: &Report) {
    let lx = LEFT + plot_w() + 16.0;
    let _ = writeln!(
        s,
        r#"<text x="{lx:.1}" y="{:.1}" font-weight="bold">strategy (connected, p95)</text>"#,
        TITLE_H + 10.0
    );
    for (i, series) in report.timeline.series.iter().enumerate() {
        let (colour, dash) = STYLES[i % STYLES.len()];
        let ly = TITLE_H + 32.0 + 22.0 * i as f64;
        let (pct, p95) = report
            .strategies
            .iter()
            .find(|r| r.name == series.name)
            .map_or((0.0, None), |r| (r.connected_pct, r.ttc_p95_s));
        let p95 = p95.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} s"));
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}">{} ({pct:.1} %, {p95})</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            series.name
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{lx:.1}" y="{:.1}" fill="#444" font-size="11">Lines at the same value</text><text x="{lx:.1}" y="{:.1}" fill="#444" font-size="11">overlap; the oracle (dashed)</text><text x="{lx:.1}" y="{:.1}" fill="#444" font-size="11">is drawn on top.</text>"##,
        TITLE_H + 130.0,
        TITLE_H + 144.0,
        TITLE_H + 158.0
    );
}

/// The y axis top for times to connect: the slowest bucket rounded up to 10 s, at least 10 s.
fn ttc_axis_max(report: &Report) -> f64 {
    let slowest = report
        .timeline
        .series
        .iter()
        .flat_map(|s| s.ttc_p95_s.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    ((slowest / 10.0).ceil() * 10.0).max(10.0)
}

/// The SVG document for `report`.
pub fn chart(report: &Report) -> String {
    let height = TITLE_H + 2.0 * (PANEL_H + GAP);
    let t = &report.timeline;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"#,
        escape(&report.title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="44" fill="#444">{}: 911 calls by {:.0}-minute bucket of call start; {} calls, seed {}, policy {}</text>"##,
        escape(&report.scenario),
        t.bucket_s / 60.0,
        report.calls,
        report.seed,
        escape(&report.policy)
    );
    panel(
        &mut s,
        report,
        &Panel {
            top: TITLE_H,
            y_max: 100.0,
            y_step: 20.0,
            y_unit: " %",
            y_label: "calls connected (%)",
            values: |series| &series.connected_pct,
        },
    );
    let y_max = ttc_axis_max(report);
    panel(
        &mut s,
        report,
        &Panel {
            top: TITLE_H + PANEL_H + GAP,
            y_max,
            y_step: (y_max / 5.0).max(1.0),
            y_unit: " s",
            y_label: "time to connect, p95 (s)",
            values: |series| &series.ttc_p95_s,
        },
    );
    legend(&mut s, report);
    let _ = writeln!(s, "</svg>");
    s
}

/// One generated world in [`worlds_chart`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldPoint {
    /// `android_like`'s connected percentage.
    pub android_pct: f64,
    /// `sosroute`'s connected percentage.
    pub sos_pct: f64,
    /// Whether the world breaks a dominance bound.
    pub breaks: bool,
}

/// A scatter chart of generated worlds: `android_like`'s connected percentage across, and
/// `sosroute`'s up, one dot per world (red where the world breaks a dominance bound), with the
/// diagonal where the two are equal: dots above it are worlds where sosroute connects more.
pub fn worlds_chart(title: &str, points: &[WorldPoint]) -> String {
    const SIZE: f64 = 480.0;
    const MARGIN: f64 = 70.0;
    let (w, h) = (SIZE + 2.0 * MARGIN, SIZE + 2.0 * MARGIN + 20.0);
    let x_of = |pct: f64| MARGIN + SIZE * pct.clamp(0.0, 100.0) / 100.0;
    let y_of = |pct: f64| MARGIN + 20.0 + SIZE * (1.0 - pct.clamp(0.0, 100.0) / 100.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="28" font-size="16" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let breaking = points.iter().filter(|p| p.breaks).count();
    let _ = writeln!(
        s,
        r##"<text x="{MARGIN}" y="50" fill="#444">{} worlds; red: {breaking} breaking a dominance bound; above the diagonal: sosroute connects more</text>"##,
        points.len()
    );
    for pct in (0..=100).step_by(20).map(f64::from) {
        let (x, y) = (x_of(pct), y_of(pct));
        let _ = writeln!(
            s,
            r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{pct:.0} %</text>"##,
            x_of(0.0),
            x_of(100.0),
            x_of(0.0) - 6.0,
            y + 4.0
        );
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle">{pct:.0} %</text>"##,
            y_of(0.0),
            y_of(100.0),
            y_of(0.0) + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#000" stroke-dasharray="6 4"/>"##,
        x_of(0.0),
        y_of(0.0),
        x_of(100.0),
        y_of(100.0)
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">android_like: calls connected</text>"#,
        MARGIN + SIZE / 2.0,
        y_of(0.0) + 40.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(20 {}) rotate(-90)" text-anchor="middle">sosroute: calls connected</text>"#,
        y_of(50.0)
    );
    for p in points {
        let colour = if p.breaks { "#D55E00" } else { "#0072B2" };
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}" fill-opacity="0.6"/>"#,
            x_of(p.android_pct),
            y_of(p.sos_pct)
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}
