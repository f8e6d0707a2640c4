//! The chart: connected percent per strategy per time bucket over the scenario's window, as a
//! self-contained SVG readable without the table (title, axis labels, legend).

use std::fmt::Write as _;

use super::report::Report;

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 60.0;

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

/// The SVG document for `report`.
pub fn chart(report: &Report) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let t = &report.timeline;
    let buckets = t.calls.len().max(1);
    let hours = report.window_s / 3600.0;
    let x_of = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / buckets as f64;
    let y_of = |pct: f64| TOP + plot_h * (1.0 - pct / 100.0);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" font-size="16" font-weight="bold">{}</text>"#,
        LEFT,
        escape(&report.title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="42" fill="#444">{} — 911 calls connected, per {:.0}-minute bucket of call start ({} calls, seed {})</text>"##,
        LEFT,
        escape(&report.scenario),
        t.bucket_s / 60.0,
        report.calls,
        report.seed
    );
    // Grid and y axis.
    for pct in (0..=100).step_by(20) {
        let y = y_of(pct as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{pct} %</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0
        );
    }
    // X axis ticks in hours.
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
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{h}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 5.0,
            TOP + plot_h + 18.0
        );
        h += step;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">hours since the start of the scenario (call start time)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">calls connected (%)</text>"#,
        TOP + plot_h / 2.0
    );
    // One line per strategy, broken where a bucket has no calls. Drawn last to first, so the
    // oracle's dashed line (the limit) stays visible on top of strategies that reach it.
    for (i, series) in t.series.iter().enumerate().rev() {
        let (colour, dash) = STYLES[i % STYLES.len()];
        let mut points = String::new();
        for (b, v) in series.connected_pct.iter().enumerate() {
            if let Some(p) = v {
                let _ = write!(points, "{:.1},{:.1} ", x_of(b), y_of(*p));
            }
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{}"/>"#,
            points.trim_end()
        );
        // Legend entry with the strategy's overall result.
        let ly = TOP + 16.0 + 22.0 * i as f64;
        let lx = LEFT + plot_w + 16.0;
        let overall = report
            .strategies
            .iter()
            .find(|r| r.name == series.name)
            .map_or(0.0, |r| r.connected_pct);
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}">{} ({overall:.1} %)</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            series.name
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}
