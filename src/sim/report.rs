//! The comparison: per strategy, calls connected, time to connect, attempts, abandoned calls and
//! the routes that carried the connections; as a terminal table and as JSON.
//!
//! Every number is rounded to a fixed precision, so the JSON of a seed is byte-identical from run
//! to run and from machine to machine.

use std::fmt::Write as _;

use serde::Serialize;

use crate::probation::{ProbationState, ProbationStatus};
use crate::route::RouteKind;

use super::strategy::{CallOutcome, CallResult, Strategy};
use super::world::World;

/// Route kinds in report order.
const KINDS: [RouteKind; 6] = [
    RouteKind::HomeCellular,
    RouteKind::CrossSim,
    RouteKind::OtherNetwork,
    RouteKind::WifiCalling,
    RouteKind::Text,
    RouteKind::Satellite,
];

/// Buckets of the timeline over the window.
const BUCKETS: u64 = 48;

/// Connections one route kind carried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteShare {
    /// Route kind.
    pub kind: &'static str,
    /// Connections over it.
    pub connected: u32,
    /// Percent of the strategy's connections.
    pub share_pct: f64,
}

/// One strategy's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyReport {
    /// Strategy name.
    pub name: &'static str,
    /// Calls connected.
    pub connected: u32,
    /// Percent of all calls.
    pub connected_pct: f64,
    /// Percent of what the oracle connected.
    pub of_oracle_pct: f64,
    /// Time to connect, median, seconds (over connected calls; `None` if none connected).
    pub ttc_p50_s: Option<f64>,
    /// 95th percentile.
    pub ttc_p95_s: Option<f64>,
    /// 99th percentile.
    pub ttc_p99_s: Option<f64>,
    /// 95th percentile over every call, a call never connected counting as infinitely late:
    /// `None` when more than 5 % of the calls were not connected. Unlike `ttc_p95_s`, it does
    /// not flatter a strategy that connects only the easy calls.
    pub ttc_p95_all_s: Option<f64>,
    /// Mean attempts per call.
    pub attempts_per_call: f64,
    /// Calls whose caller hung up unconnected when patience ran out.
    pub abandoned: u32,
    /// Calls the strategy stopped trying before the caller's patience ran out.
    pub gave_up: u32,
    /// Connections per route kind.
    pub routes: Vec<RouteShare>,
}

/// `sosroute` against `oracle`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratios {
    /// sosroute's connected calls as a percent of the oracle's.
    pub connected_pct: f64,
    /// sosroute's p50 time to connect minus the oracle's, seconds.
    pub p50_delta_s: Option<f64>,
    /// Same for p95.
    pub p95_delta_s: Option<f64>,
    /// Same for p99.
    pub p99_delta_s: Option<f64>,
}

/// Connected percent of one strategy per time bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Strategy name.
    pub name: &'static str,
    /// Percent of the calls starting in each bucket that connected (`None`: no call started).
    pub connected_pct: Vec<Option<f64>>,
    /// 95th percentile time to connect of the calls starting in each bucket that connected,
    /// seconds (`None`: none connected).
    pub ttc_p95_s: Vec<Option<f64>>,
}

/// Connected percent over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// Bucket width, seconds.
    pub bucket_s: f64,
    /// Calls starting in each bucket.
    pub calls: Vec<u32>,
    /// One series per strategy.
    pub series: Vec<Series>,
}

/// The whole comparison for one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Scenario title.
    pub title: String,
    /// Seed.
    pub seed: u64,
    /// Calls.
    pub calls: u32,
    /// Window, seconds.
    pub window_s: f64,
    /// Name of the policy `sosroute` used.
    pub policy: String,
    /// `per_caller` or `shared`.
    pub router: &'static str,
    /// Per strategy, in [`Strategy::ALL`] order.
    pub strategies: Vec<StrategyReport>,
    /// sosroute / oracle.
    pub sosroute_vs_oracle: Ratios,
    /// Connected percent over the window.
    pub timeline: Timeline,
    /// Policies the shared router loaded during the window, and what probation made of each
    /// (`[[policy_change]]`; absent without).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy_changes: Vec<PolicyChangeReport>,
    /// `sosroute` again with probation off, to show what probation saved (only with policy
    /// changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sosroute_without_probation: Option<StrategyReport>,
}

/// One `[[policy_change]]` and its probation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyChangeReport {
    /// When the router loaded it, seconds into the window.
    pub at_s: f64,
    /// The file, as the scenario names it.
    pub path: String,
    /// The policy's name.
    pub policy: String,
    /// Where its probation stood when the next change came or the window ended (state `none`
    /// if it was never loaded).
    pub probation: ProbationStatus,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn pct(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round(100.0 * part as f64 / whole as f64, 3)
    }
}

/// Nearest-rank percentile of sorted milliseconds, in seconds.
fn percentile_s(sorted_ms: &[u64], p: f64) -> Option<f64> {
    if sorted_ms.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted_ms.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted_ms.len()) - 1;
    Some(round(sorted_ms[i] as f64 / 1000.0, 3))
}

/// Nearest-rank percentile, in seconds, over `calls` calls of which those connected took
/// `sorted_ms` and the rest never connected: `None` when the rank falls among those.
fn percentile_of_all_s(sorted_ms: &[u64], calls: usize, p: f64) -> Option<f64> {
    let rank = ((p / 100.0) * calls as f64).ceil() as usize;
    let i = rank.clamp(1, calls.max(1)) - 1;
    sorted_ms.get(i).map(|&ms| round(ms as f64 / 1000.0, 3))
}

fn connected_of(r: &CallResult) -> Option<(u64, RouteKind)> {
    match r.outcome {
        CallOutcome::Connected { after_ms, kind } => Some((after_ms, kind)),
        _ => None,
    }
}

fn strategy_report(s: Strategy, results: &[CallResult], oracle_connected: u32) -> StrategyReport {
    let mut ttc: Vec<u64> = results
        .iter()
        .filter_map(connected_of)
        .map(|(t, _)| t)
        .collect();
    ttc.sort_unstable();
    let connected = ttc.len() as u32;
    let count = |want: CallOutcome| results.iter().filter(|r| r.outcome == want).count() as u32;
    let attempts: u64 = results.iter().map(|r| u64::from(r.attempts)).sum();
    let routes = KINDS
        .iter()
        .map(|&k| {
            let n = results
                .iter()
                .filter(|r| connected_of(r).is_some_and(|(_, kind)| kind == k))
                .count() as u32;
            RouteShare {
                kind: k.name(),
                connected: n,
                share_pct: pct(n, connected),
            }
        })
        .collect();
    StrategyReport {
        name: s.name(),
        connected,
        connected_pct: pct(connected, results.len() as u32),
        of_oracle_pct: pct(connected, oracle_connected),
        ttc_p50_s: percentile_s(&ttc, 50.0),
        ttc_p95_s: percentile_s(&ttc, 95.0),
        ttc_p99_s: percentile_s(&ttc, 99.0),
        ttc_p95_all_s: percentile_of_all_s(&ttc, results.len(), 95.0),
        attempts_per_call: if results.is_empty() {
            0.0
        } else {
            round(attempts as f64 / results.len() as f64, 3)
        },
        abandoned: count(CallOutcome::Abandoned),
        gave_up: count(CallOutcome::GaveUp),
        routes,
    }
}

fn timeline(world: &World, results: &[(Strategy, Vec<CallResult>)]) -> Timeline {
    let window = world.scenario.window_ms.max(1);
    let width = window.div_ceil(BUCKETS).max(1);
    let buckets = window.div_ceil(width) as usize;
    let bucket_of = |t: u64| ((t / width) as usize).min(buckets - 1);
    let mut calls = vec![0u32; buckets];
    for c in &world.callers {
        calls[bucket_of(c.start_ms)] += 1;
    }
    let series = results
        .iter()
        .map(|(s, rs)| {
            let mut ttc: Vec<Vec<u64>> = vec![Vec::new(); buckets];
            for (c, r) in world.callers.iter().zip(rs) {
                if let Some((t, _)) = connected_of(r) {
                    ttc[bucket_of(c.start_ms)].push(t);
                }
            }
            for b in &mut ttc {
                b.sort_unstable();
            }
            Series {
                name: s.name(),
                connected_pct: ttc
                    .iter()
                    .zip(&calls)
                    .map(|(k, &n)| (n > 0).then(|| pct(k.len() as u32, n)))
                    .collect(),
                ttc_p95_s: ttc.iter().map(|b| percentile_s(b, 95.0)).collect(),
            }
        })
        .collect();
    Timeline {
        bucket_s: round(width as f64 / 1000.0, 3),
        calls,
        series,
    }
}

fn delta(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(round(a? - b?, 3))
}

/// Builds the report from each strategy's results, in [`Strategy::ALL`] order.
pub fn build(world: &World, policy: &str, results: &[(Strategy, Vec<CallResult>)]) -> Report {
    let connected = |rs: &[CallResult]| rs.iter().filter(|r| connected_of(r).is_some()).count();
    let oracle = results
        .iter()
        .find(|(s, _)| *s == Strategy::Oracle)
        .map_or(0, |(_, rs)| connected(rs) as u32);
    let strategies: Vec<StrategyReport> = results
        .iter()
        .map(|(s, rs)| strategy_report(*s, rs, oracle))
        .collect();
    let find = |name: &str| strategies.iter().find(|s| s.name == name);
    let ratios = match (find("sosroute"), find("oracle")) {
        (Some(s), Some(o)) => Ratios {
            connected_pct: pct(s.connected, o.connected),
            p50_delta_s: delta(s.ttc_p50_s, o.ttc_p50_s),
            p95_delta_s: delta(s.ttc_p95_s, o.ttc_p95_s),
            p99_delta_s: delta(s.ttc_p99_s, o.ttc_p99_s),
        },
        _ => Ratios {
            connected_pct: 0.0,
            p50_delta_s: None,
            p95_delta_s: None,
            p99_delta_s: None,
        },
    };
    let sc = &world.scenario;
    Report {
        scenario: sc.name.clone(),
        title: sc.title.clone(),
        seed: sc.seed,
        calls: sc.calls.count,
        window_s: round(sc.window_ms as f64 / 1000.0, 3),
        policy: policy.to_owned(),
        router: match sc.router {
            super::scenario::RouterMode::PerCaller => "per_caller",
            super::scenario::RouterMode::Shared => "shared",
        },
        strategies,
        sosroute_vs_oracle: ratios,
        timeline: timeline(world, results),
        policy_changes: Vec::new(),
        sosroute_without_probation: None,
    }
}

impl Report {
    /// Adds the scenario's policy changes with where each one's probation stood (`statuses`,
    /// in order), and the results of `sosroute` with probation off (`unguarded`).
    pub fn add_policy_changes(
        &mut self,
        world: &World,
        statuses: &[ProbationStatus],
        unguarded: &[CallResult],
    ) {
        let oracle = self
            .strategies
            .iter()
            .find(|s| s.name == Strategy::Oracle.name())
            .map_or(0, |s| s.connected);
        self.policy_changes = world
            .scenario
            .policy_changes
            .iter()
            .enumerate()
            .map(|(i, c)| PolicyChangeReport {
                at_s: round(c.at_ms as f64 / 1000.0, 3),
                path: c.path.clone(),
                policy: c.policy.name().to_owned(),
                probation: statuses
                    .get(i)
                    .cloned()
                    .unwrap_or_else(ProbationStatus::none),
            })
            .collect();
        let mut without = strategy_report(Strategy::Sosroute, unguarded, oracle);
        without.name = "sosroute_without_probation";
        self.sosroute_without_probation = Some(without);
    }

    /// The policy changes and their probation, as lines of the table.
    fn policy_change_lines(&self, out: &mut String) {
        for c in &self.policy_changes {
            let p = &c.probation;
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "policy change at {:.1} s: {} ({:?}) loaded as v{}",
                c.at_s, c.path, c.policy, p.candidate_version
            );
            let s = |ms: u64| ms as f64 / 1000.0;
            let state = match p.state {
                ProbationState::None => "no probation".to_owned(),
                ProbationState::OnProbation => "still on probation".to_owned(),
                ProbationState::Kept => format!("kept at {:.1} s", s(p.decided_ms)),
                ProbationState::RolledBack => format!(
                    "ROLLED BACK at {:.1} s ({:.1} s after the change), v{} restored as v{}",
                    s(p.decided_ms),
                    s(p.decided_ms).max(c.at_s) - c.at_s,
                    p.predecessor_version,
                    p.restored_version
                ),
                ProbationState::Superseded => format!("superseded at {:.1} s", s(p.decided_ms)),
            };
            let _ = writeln!(out, "  probation: {state}");
            if !p.reason.is_empty() {
                let _ = writeln!(out, "  why: {}", p.reason);
            }
        }
        if let Some(w) = &self.sosroute_without_probation {
            let _ = writeln!(
                out,
                "sosroute without probation: {} connected ({:.2} % of all, {:.2} % of the \
                 oracle's), p95 {} s",
                w.connected,
                w.connected_pct,
                w.of_oracle_pct,
                secs(w.ttc_p95_s)
            );
        }
    }
}

fn secs(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

fn signed(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:+.1} s"))
}

impl Report {
    /// The comparison as a plain-text table for a terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} — {}", self.scenario, self.title);
        let _ = writeln!(
            out,
            "{} calls over {:.1} h, seed {}, policy {}, router {}",
            self.calls,
            self.window_s / 3600.0,
            self.seed,
            self.policy,
            self.router
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<13} {:>9} {:>8} {:>9} {:>7} {:>7} {:>7} {:>9} {:>9} {:>7}",
            "strategy",
            "connected",
            "% all",
            "% oracle",
            "p50 s",
            "p95 s",
            "p99 s",
            "attempts",
            "abandoned",
            "gave up"
        );
        for s in &self.strategies {
            let _ = writeln!(
                out,
                "{:<13} {:>9} {:>8.2} {:>9.2} {:>7} {:>7} {:>7} {:>9.2} {:>9} {:>7}",
                s.name,
                s.connected,
                s.connected_pct,
                s.of_oracle_pct,
                secs(s.ttc_p50_s),
                secs(s.ttc_p95_s),
                secs(s.ttc_p99_s),
                s.attempts_per_call,
                s.abandoned,
                s.gave_up
            );
        }
        let _ = writeln!(out);
        let _ = write!(out, "{:<13}", "% of connects");
        for k in KINDS {
            let _ = write!(out, " {:>13}", k.name());
        }
        let _ = writeln!(out);
        for s in &self.strategies {
            let _ = write!(out, "{:<13}", s.name);
            for r in &s.routes {
                let _ = write!(out, " {:>13.1}", r.share_pct);
            }
            let _ = writeln!(out);
        }
        let r = &self.sosroute_vs_oracle;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "sosroute / oracle: {:.2} % of the oracle's connections; time to connect p50 {}, p95 {}, p99 {}",
            r.connected_pct,
            signed(r.p50_delta_s),
            signed(r.p95_delta_s),
            signed(r.p99_delta_s)
        );
        self.policy_change_lines(&mut out);
        out
    }
}
