//! A generator of outage worlds: scenario files (`scenarios/FORMAT.md`) drawn from a family wide
//! enough to hold the worlds of the "Robust decisions" issue and many more, so the strategies can
//! be compared on worlds nobody wrote by hand.
//!
//! The family: the conventional components and route kinds with realistic `needs` (text rides
//! the home radio and the text control centre, with or without the home core); per-route setup
//! times from 1 s to 60 s, each within what is plausible for its kind (a voice call on a
//! cellular network or Wi-Fi up to 15-20 s, a scan and attach on another network, a text
//! conversation or a satellite link up to 60 s); calm days (no incident); outages that hit a share of callers, start
//! at once or later, grow, shrink or end; failure manners `no_signal`, `reject` (0.5-30 s) and
//! `timeout`; monitors that tell the truth, lie (healthy while broken, or broken while working),
//! say `unknown`, lag (`observed_after_s`) or freeze; flapping with periods from 5 s to 10 min;
//! per-caller and shared routers; text or satellite as the only way out; satellite blocked
//! (its monitor saying up); text-first populations; PSAPs that cannot take text, and PSAP
//! advisories that are old or wrong; wide population shares.
//!
//! Every draw comes from [`rng::uniform`](super::rng::uniform) on the seed, so a seed always gives
//! the same text; the scenario's own `seed` is the generator's seed.

use std::fmt::Write as _;

use super::rng::{uniform, Stream};
use super::{replay, Report, Scenario, SimError};
use crate::policy::Policy;

/// Calls per generated world unless told otherwise: enough for percentages to mean something,
/// few enough that a world replays in milliseconds.
pub const DEFAULT_CALLS: u32 = 300;

/// Most events one flapping incident may write (keeps a world's replay fast).
const MAX_FLAPS: u32 = 120;

/// The generator's draws, in order.
struct Draw {
    seed: u64,
    n: u64,
}

impl Draw {
    fn u(&mut self) -> f64 {
        self.n += 1;
        uniform(self.seed, self.n, Stream::Generate)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.u() < p
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.u()
    }

    /// A whole number in `lo..=hi`.
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + ((hi - lo + 1) as f64 * self.u()) as u64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(items.len() as f64 * self.u()) as usize]
    }

    /// A value in `lo..hi` spread evenly over its orders of magnitude.
    fn log_range(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.u()).exp()
    }

    /// A population share: often none or everyone, otherwise anything.
    fn share(&mut self) -> f64 {
        match self.u() {
            x if x < 0.15 => 0.0,
            x if x < 0.3 => 1.0,
            _ => self.range(0.02, 1.0),
        }
    }

    /// A route's setup time: usually its typical range `lo..hi`, sometimes anything in
    /// `1..max` seconds.
    fn setup(&mut self, lo: f64, hi: f64, max: f64) -> f64 {
        if self.chance(0.7) {
            self.range(lo, hi)
        } else {
            self.range(1.0, max)
        }
    }
}

/// Radio or service, by conventional component name.
fn is_radio(component: &str) -> bool {
    component.ends_with("_ran")
}

fn healthy(component: &str) -> &'static str {
    if is_radio(component) {
        "in_service"
    } else {
        "up"
    }
}

/// A failing component's monitor: the truth, a lie (healthy), or unknown.
fn observed_when_broken(d: &mut Draw, component: &str) -> (&'static str, &'static str) {
    let x = d.u();
    if x < 0.35 {
        (healthy(component), "lies healthy")
    } else if x < 0.5 {
        ("unknown", "says unknown")
    } else if is_radio(component) {
        (
            d.pick(&["no_service", "limited_service"]),
            "tells the truth",
        )
    } else {
        ("down", "tells the truth")
    }
}

fn broken(component: &str, d: &mut Draw) -> &'static str {
    if is_radio(component) {
        d.pick(&["no_service", "limited_service"])
    } else {
        "down"
    }
}

/// One `[[event]]`, written.
#[derive(Default)]
struct Ev<'a> {
    at_s: f64,
    component: &'a str,
    works: Option<bool>,
    fails_by: Option<(&'static str, f64)>,
    observed: Option<&'static str>,
    observed_after_s: f64,
    share_from: f64,
    share: f64,
    monitor: Option<&'static str>,
}

impl Ev<'_> {
    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "\n[[event]]\nat_s = {:.1}", self.at_s);
        let _ = writeln!(out, "component = \"{}\"", self.component);
        if let Some(w) = self.works {
            let _ = writeln!(out, "works = {w}");
        }
        if let Some((how, reject_s)) = self.fails_by {
            let _ = writeln!(out, "fails_by = \"{how}\"");
            if how == "reject" {
                let _ = writeln!(out, "reject_s = {reject_s:.1}");
            }
        }
        if let Some(o) = self.observed {
            let _ = writeln!(out, "observed = \"{o}\"");
            if self.observed_after_s > 0.0 {
                let _ = writeln!(out, "observed_after_s = {:.1}", self.observed_after_s);
            }
        }
        if self.share_from > 0.0 {
            let _ = writeln!(out, "share_from = {:.3}", self.share_from);
        }
        let _ = writeln!(out, "share = {:.3}", self.share);
        if let Some(m) = self.monitor {
            let _ = writeln!(out, "monitor = \"{m}\"");
        }
    }
}

fn fails_by(d: &mut Draw) -> (&'static str, f64) {
    let how = d.pick(&["no_signal", "reject", "timeout"]);
    (how, d.log_range(0.5, 30.0))
}

/// The callers' slice an incident hits: everyone, or a share (sometimes not from 0).
fn slice(d: &mut Draw) -> (f64, f64) {
    if d.chance(0.4) {
        return (0.0, 1.0);
    }
    let from = if d.chance(0.3) {
        d.range(0.0, 0.5)
    } else {
        0.0
    };
    let to = (from + d.range(0.1, 1.0 - from)).min(1.0);
    // Three decimals in the file: keep `share_from <= share` after rounding.
    (round3(from), round3(to).max(round3(from)))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One incident on `component`: events appended to `events`, one line of description returned.
fn incident<'a>(
    d: &mut Draw,
    component: &'a str,
    window_s: f64,
    events: &mut Vec<Ev<'a>>,
) -> String {
    let start = if d.chance(0.5) {
        0.0
    } else {
        d.range(0.0, 0.6 * window_s).floor()
    };
    let end = if d.chance(0.6) {
        None
    } else {
        Some(d.range(start + 60.0, window_s.max(start + 61.0)).floor())
    };
    let (share_from, share) = slice(d);
    let lag = if d.chance(0.6) {
        0.0
    } else {
        d.int(1, 120) as f64
    };
    let x = d.u();
    if x < 0.55 {
        // An outage: fails, its monitor tells the truth or lies, perhaps late or frozen.
        let how = fails_by(d);
        let (obs, says) = observed_when_broken(d, component);
        let frozen = d.chance(0.15);
        events.push(Ev {
            at_s: start,
            component,
            works: Some(false),
            fails_by: Some(how),
            observed: Some(obs),
            observed_after_s: lag,
            share_from,
            share,
            monitor: frozen.then_some("frozen"),
        });
        let mut text = format!(
            "{component} fails ({}) for [{share_from:.2}, {share:.2}) from {start:.0} s, monitor {says}{}{}",
            how.0,
            if lag > 0.0 { format!(" {lag:.0} s late") } else { String::new() },
            if frozen { ", frozen" } else { "" },
        );
        let later = d.range(start + 30.0, window_s.max(start + 31.0)).floor();
        if share < 1.0 && d.chance(0.25) {
            // It grows to more callers.
            let to = round3(d.range(share, 1.0)).max(share);
            events.push(Ev {
                at_s: later,
                component,
                works: Some(false),
                fails_by: Some(how),
                observed: Some(obs),
                observed_after_s: lag,
                share_from: share,
                share: to,
                ..Ev::default()
            });
            let _ = write!(text, ", grows to {to:.2} at {later:.0} s");
        } else if share - share_from > 0.2 && d.chance(0.3) {
            // It shrinks: the upper part of the slice recovers.
            let mid = round3((share_from + share) / 2.0);
            events.push(Ev {
                at_s: later,
                component,
                works: Some(true),
                observed: Some(healthy(component)),
                observed_after_s: lag,
                share_from: mid,
                share,
                ..Ev::default()
            });
            let _ = write!(text, ", shrinks to {mid:.2} at {later:.0} s");
        }
        if let Some(end) = end {
            events.push(Ev {
                at_s: end,
                component,
                works: Some(true),
                observed: Some(healthy(component)),
                observed_after_s: lag,
                share: 1.0,
                monitor: frozen.then_some("live"),
                ..Ev::default()
            });
            let _ = write!(text, ", ends at {end:.0} s");
        }
        text
    } else if x < 0.8 {
        // Flapping: down for half a period, up for the other half.
        let period = d.log_range(5.0, 600.0).round().max(5.0);
        let half = period / 2.0;
        let how = fails_by(d);
        let lies = d.chance(0.2);
        let lag = if d.chance(0.5) {
            0.0
        } else {
            d.range(0.0, period).round()
        };
        let stop = end
            .unwrap_or(window_s)
            .min(start + half * f64::from(MAX_FLAPS));
        let mut t = start;
        let mut down = true;
        while t < stop {
            events.push(Ev {
                at_s: t,
                component,
                works: Some(!down),
                fails_by: down.then_some(how),
                observed: Some(if down && !lies {
                    broken(component, d)
                } else {
                    healthy(component)
                }),
                observed_after_s: lag,
                share_from,
                share,
                ..Ev::default()
            });
            down = !down;
            t += half;
        }
        if !down {
            // End on a recovery.
            events.push(Ev {
                at_s: t,
                component,
                works: Some(true),
                observed: Some(healthy(component)),
                observed_after_s: lag,
                share_from,
                share,
                ..Ev::default()
            });
        }
        format!(
            "{component} flaps every {period:.0} s ({}) for [{share_from:.2}, {share:.2}) from {start:.0} to {stop:.0} s, monitor {}{}",
            how.0,
            if lies { "lies healthy" } else { "follows" },
            if lag > 0.0 { format!(" {lag:.0} s late") } else { String::new() },
        )
    } else if x < 0.92 {
        // A false alarm: works, but its monitor says it is broken.
        events.push(Ev {
            at_s: start,
            component,
            observed: Some(broken(component, d)),
            observed_after_s: lag,
            share_from,
            share,
            ..Ev::default()
        });
        if let Some(end) = end {
            events.push(Ev {
                at_s: end,
                component,
                observed: Some(healthy(component)),
                share: 1.0,
                ..Ev::default()
            });
        }
        format!("{component} works but its monitor says broken for [{share_from:.2}, {share:.2}) from {start:.0} s")
    } else {
        // A monitor that stops reporting, perhaps just before the component fails.
        events.push(Ev {
            at_s: start,
            component,
            monitor: Some("frozen"),
            share_from,
            share,
            ..Ev::default()
        });
        let fails = d.chance(0.6);
        if fails {
            let how = fails_by(d);
            events.push(Ev {
                at_s: start + d.int(0, 300) as f64,
                component,
                works: Some(false),
                fails_by: Some(how),
                share_from,
                share,
                ..Ev::default()
            });
        }
        format!(
            "{component} monitor frozen for [{share_from:.2}, {share:.2}) from {start:.0} s{}",
            if fails { ", then it fails" } else { "" }
        )
    }
}

/// A scenario's TOML text drawn from `seed`, with `calls` calls. Always valid
/// ([`Scenario::from_toml`](super::Scenario::from_toml) accepts it); named `gen-SEED`.
pub fn generate(seed: u64, calls: u32) -> String {
    let d = &mut Draw { seed, n: 0 };
    let calls = calls.max(1);
    let window_s = d.int(10, 60) as f64 * 60.0;
    let shared = d.chance(0.25);

    // Routes: home always; each fallback often; sometimes text or satellite is the only way out.
    let no_voice_fallback = d.chance(0.15);
    let voice_fallback = |d: &mut Draw| !no_voice_fallback && d.chance(0.6);
    let cross_sim = voice_fallback(d);
    let other = voice_fallback(d);
    let wifi = voice_fallback(d);
    let text = d.chance(if no_voice_fallback { 0.8 } else { 0.6 });
    let satellite = d.chance(if no_voice_fallback { 0.6 } else { 0.35 });
    let text_without_core = d.chance(0.5);

    let mut components = vec!["home_ran", "home_core"];
    for (on, name) in [
        (other, "other_ran"),
        (cross_sim, "sim2_ran"),
        (wifi, "wifi"),
        (text, "tcc"),
        (satellite, "satellite_link"),
    ] {
        if on {
            components.push(name);
        }
    }

    let mut routes = String::new();
    let mut route = |kind: &str, needs: &[&str], requires: &[&str], setup_s: f64| {
        let q = |xs: &[&str]| {
            xs.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            routes,
            "\n[[route]]\nkind = \"{kind}\"\nneeds = [{}]",
            q(needs)
        );
        if !requires.is_empty() {
            let _ = writeln!(routes, "requires = [{}]", q(requires));
        }
        let _ = writeln!(routes, "setup_s = {setup_s:.1}");
    };
    route(
        "home_cellular",
        &["home_ran", "home_core"],
        &[],
        d.setup(2.0, 5.0, 15.0),
    );
    if cross_sim {
        route(
            "cross_sim",
            &["sim2_ran"],
            &["dual_sim"],
            d.setup(2.0, 6.0, 15.0),
        );
    }
    if other {
        route(
            "other_network",
            &["other_ran"],
            &[],
            d.setup(5.0, 60.0, 60.0),
        );
    }
    if wifi {
        route(
            "wifi_calling",
            &["wifi", "home_core"],
            &["wifi_calling"],
            d.setup(3.0, 8.0, 20.0),
        );
    }
    if text {
        let needs: &[&str] = if text_without_core {
            &["home_ran", "tcc"]
        } else {
            &["home_ran", "home_core", "tcc"]
        };
        route(
            "text",
            needs,
            &["sms", "psap_text_ready"],
            d.setup(15.0, 45.0, 60.0),
        );
    }
    if satellite {
        route(
            "satellite",
            &["satellite_link"],
            &["satellite"],
            d.setup(20.0, 60.0, 60.0),
        );
    }

    // Incidents: none on a calm day; otherwise one to four, the first usually at home.
    let mut events = Vec::new();
    let mut story = Vec::new();
    let calm = d.chance(0.15);
    if !calm {
        let n = d.int(1, 4);
        for i in 0..n {
            let component = if i == 0 && d.chance(0.75) {
                d.pick(&["home_core", "home_core", "home_ran"])
            } else {
                d.pick(&components)
            };
            story.push(incident(d, component, window_s, &mut events));
        }
    }
    if satellite && d.chance(0.35) {
        // Indoors: the satellite link hangs while its monitor says up.
        let (from, to) = slice(d);
        events.push(Ev {
            at_s: 0.0,
            component: "satellite_link",
            works: Some(false),
            fails_by: Some(("timeout", 0.0)),
            observed: Some("up"),
            share_from: from,
            share: to,
            ..Ev::default()
        });
        story.push(format!(
            "satellite blocked, shown up, for [{from:.2}, {to:.2})"
        ));
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `sosroute generate --seed {seed} --calls {calls}`."
    );
    if calm {
        let _ = writeln!(out, "# A calm day: no incident.");
    }
    for line in &story {
        let _ = writeln!(out, "# - {line}");
    }
    let _ = writeln!(out, "[scenario]\nname = \"gen-{seed}\"");
    let _ = writeln!(
        out,
        "title = \"Generated world {seed}: {} incident(s){}\"",
        story.len(),
        if shared { ", shared router" } else { "" }
    );
    let _ = writeln!(out, "sources = [\"sosroute generate --seed {seed}\"]");
    let _ = writeln!(out, "window_s = {window_s:.0}\nseed = {seed}");
    let _ = writeln!(out, "report_every_s = {}", d.pick(&[5, 10, 10, 10, 30]));
    let _ = writeln!(
        out,
        "router = \"{}\"",
        if shared { "shared" } else { "per_caller" }
    );

    let _ = writeln!(out, "\n[calls]\ncount = {calls}");
    let _ = writeln!(out, "arrival = \"{}\"", d.pick(&["uniform", "poisson"]));
    let _ = writeln!(
        out,
        "patience_s = {}",
        d.pick(&[45, 60, 90, 90, 90, 120, 180])
    );
    let text_first = if d.chance(0.4) {
        0.0
    } else {
        d.log_range(0.01, 0.6)
    };
    let _ = writeln!(out, "text_first = {text_first:.3}");

    let _ = writeln!(out, "\n[population]");
    let sms = if d.chance(0.8) {
        d.range(0.9, 1.0)
    } else {
        d.share()
    };
    for (name, value) in [
        ("dual_sim", d.share()),
        ("wifi_calling", d.share()),
        ("sms", sms),
        ("satellite", d.share()),
        ("psap_text_ready", d.share()),
    ] {
        let _ = writeln!(out, "{name} = {value:.3}");
    }
    if d.chance(0.3) {
        let every = d.log_range(60.0, 7200.0).round();
        let wrong = if d.chance(0.5) {
            0.0
        } else {
            d.range(0.0, 0.5)
        };
        let _ = writeln!(
            out,
            "\n[psap]\nreport_every_s = {every:.0}\nreported_wrong = {wrong:.3}"
        );
    }

    for c in &components {
        let kind = if is_radio(c) { "radio" } else { "service" };
        let _ = writeln!(out, "\n[[component]]\nname = \"{c}\"\nkind = \"{kind}\"");
    }
    out.push_str(&routes);
    for e in &events {
        e.write(&mut out);
    }
    out
}

/// Generates the world of `seed` with `calls` calls and replays it under `policy`.
pub fn replay_generated(seed: u64, calls: u32, policy: &Policy) -> Result<Report, SimError> {
    let scenario = Scenario::from_toml(&generate(seed, calls))?;
    replay(scenario, policy, &mut |_| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_world_parses_and_is_named_by_its_seed() {
        for seed in 0..5000 {
            let text = generate(seed, 50);
            let s =
                Scenario::from_toml(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
            assert_eq!(s.name, format!("gen-{seed}"));
            assert_eq!(s.calls.count, 50);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_world() {
        assert_eq!(generate(42, 300), generate(42, 300));
        assert_ne!(generate(42, 300), generate(43, 300));
    }

    #[test]
    fn the_family_is_wide() {
        let worlds: Vec<Scenario> = (0..2000)
            .map(|s| Scenario::from_toml(&generate(s, 10)).expect("valid"))
            .collect();
        let any = |f: &dyn Fn(&Scenario) -> bool| worlds.iter().any(f);
        use crate::route::RouteKind;
        use crate::sim::scenario::{FailsBy, RouterMode};
        assert!(any(&|s| s.events.is_empty()), "calm days");
        assert!(any(&|s| s.router == RouterMode::Shared), "shared routers");
        assert!(
            any(&|s| s.routes.len() == 2 && s.route_index(RouteKind::Text).is_some()),
            "text as the only way out"
        );
        assert!(
            any(&|s| s.routes.len() == 2 && s.route_index(RouteKind::Satellite).is_some()),
            "satellite as the only way out"
        );
        for f in [FailsBy::NoSignal, FailsBy::Reject, FailsBy::Timeout] {
            assert!(
                any(&|s| s.events.iter().any(|e| e.fails_by == Some(f))),
                "{f:?}"
            );
        }
        assert!(
            any(&|s| s.events.iter().any(|e| e.monitor_live == Some(false))),
            "frozen"
        );
        assert!(
            any(&|s| s.events.iter().any(|e| e.observed_after_ms > 0)),
            "lag"
        );
        assert!(
            any(&|s| s
                .events
                .iter()
                .any(|e| e.works == Some(false) && e.observed.is_some_and(|o| o.is_healthy()))),
            "lies: healthy while broken"
        );
        assert!(
            any(&|s| s
                .events
                .iter()
                .any(|e| e.works.is_none() && e.observed.is_some_and(|o| !o.is_healthy()))),
            "lies: broken while working"
        );
        assert!(any(&|s| s.events.len() > 40), "flapping");
        assert!(
            any(&|s| s.routes.iter().any(|r| r.setup_ms >= 40_000)),
            "slow setups"
        );
        assert!(any(&|s| s.calls.text_first > 0.3), "text-first populations");
        assert!(
            any(&|s| s.population[4] == 0.0),
            "PSAPs that cannot take text"
        );
        assert!(
            any(&|s| s.psap.reported_wrong > 0.0),
            "wrong PSAP advisories"
        );
        assert!(
            any(&|s| s.events.iter().any(|e| e.share < 1.0 && e.share > 0.0)),
            "shares"
        );
    }
}
