//! Replays the shipped scenarios and checks the report's numbers against bounds, with margins,
//! never against a saved output: close to the oracle and never below `android_like` on the
//! outages, and rule 12 of `docs/DESIGN.md` (dominance) on the worlds of the robust-decisions
//! issue and every `scenarios/regress-*.toml`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use sosroute::sim::report::StrategyReport;
use sosroute::sim::{replay, Report, Scenario};
use sosroute::Policy;

const SHIPPED: [&str; 3] = ["calm-day", "att-2024-02-22", "tmobile-2020-06-15"];
const OUTAGES: [&str; 2] = ["att-2024-02-22", "tmobile-2020-06-15"];
/// The worlds of the "Robust decisions" issue (A-E, and world A with a slower scan).
const ROBUST: [&str; 6] = [
    "rogers-2022-scan-15s",
    "rogers-2022-slow-scan",
    "shared-congested-other",
    "flapping-15s",
    "calm-text-first-no-text-psap",
    "text-only-way-out",
];

fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"))
}

fn run(name: &str) -> Report {
    let text = std::fs::read_to_string(scenario_path(name)).expect("shipped scenario readable");
    let scenario = Scenario::from_toml(&text).expect("shipped scenario valid");
    replay(scenario, &Policy::us_default(), &mut |_| {}).expect("shipped scenario replays")
}

/// Each shipped scenario replayed once, shared by the tests.
fn reports() -> &'static [Report] {
    static REPORTS: OnceLock<Vec<Report>> = OnceLock::new();
    REPORTS.get_or_init(|| SHIPPED.iter().map(|n| run(n)).collect())
}

fn report(name: &str) -> &'static Report {
    reports()
        .iter()
        .find(|r| r.scenario == name)
        .expect("scenario replayed")
}

fn strategy<'a>(r: &'a Report, name: &str) -> &'a StrategyReport {
    r.strategies
        .iter()
        .find(|s| s.name == name)
        .expect("strategy reported")
}

#[test]
fn oracle_connects_at_least_as_many_as_every_strategy() {
    for r in reports() {
        let oracle = strategy(r, "oracle").connected;
        for s in &r.strategies {
            assert!(
                s.connected <= oracle,
                "{}: {} connected {} > oracle {}",
                r.scenario,
                s.name,
                s.connected,
                oracle
            );
        }
    }
}

#[test]
fn calm_day_every_strategy_connects_nearly_every_call() {
    let r = report("calm-day");
    assert_eq!(r.strategies.len(), 4);
    for s in &r.strategies {
        assert!(
            s.connected_pct >= 99.9,
            "{} connected {} %",
            s.name,
            s.connected_pct
        );
    }
}

#[test]
fn sosroute_is_close_to_the_oracle_in_every_outage() {
    for name in OUTAGES {
        let r = report(name);
        let oracle = strategy(r, "oracle");
        let sos = strategy(r, "sosroute");
        assert!(
            sos.connected as f64 >= 0.99 * oracle.connected as f64,
            "{name}: sosroute {} < 99 % of oracle {}",
            sos.connected,
            oracle.connected
        );
        let (Some(s95), Some(o95)) = (sos.ttc_p95_s, oracle.ttc_p95_s) else {
            panic!("{name}: no p95");
        };
        assert!(
            s95 <= o95 + 15.0,
            "{name}: sosroute p95 {s95} s vs oracle {o95} s"
        );
    }
}

#[test]
fn sosroute_is_never_worse_than_android_like() {
    for name in OUTAGES {
        let r = report(name);
        let sos = strategy(r, "sosroute").connected;
        let android = strategy(r, "android_like").connected;
        assert!(
            sos >= android,
            "{name}: sosroute {sos} < android_like {android}"
        );
    }
}

#[test]
fn outages_hurt_the_phone_that_never_falls_back() {
    // A sanity check of the simulator itself: the outages must actually block home-only calls.
    for name in OUTAGES {
        let r = report(name);
        assert!(strategy(r, "home_only").connected_pct < 90.0, "{name}");
        assert!(strategy(r, "home_only").abandoned > 0, "{name}");
    }
}

#[test]
fn same_seed_gives_byte_identical_json() {
    let a = serde_json::to_string_pretty(&run("calm-day")).expect("serialisable");
    let b = serde_json::to_string_pretty(report("calm-day")).expect("serialisable");
    assert_eq!(a, b);
    let text = std::fs::read_to_string(scenario_path("calm-day")).expect("readable");
    let reseeded = Scenario::from_toml(&text.replace("seed = 1\n", "seed = 2\n")).expect("valid");
    let c = replay(reseeded, &Policy::us_default(), &mut |_| {}).expect("replays");
    assert_ne!(serde_json::to_string_pretty(&c).expect("serialisable"), a);
}

// ---------------------------------------------------------------------------------------------
// The worlds of the "Robust decisions" issue, and regression worlds: sosroute must meet the
// dominance bounds (`sosroute::sim::dominance`) on each.

#[test]
fn robust_decision_worlds_parse_and_replay() {
    for name in ROBUST {
        let r = run(name);
        assert_eq!(r.scenario, name);
        assert!(
            !r.title.is_empty(),
            "{name}: a title says what the world is"
        );
        let oracle = strategy(&r, "oracle").connected;
        assert!(oracle > 0, "{name}: the oracle connects someone");
        assert!(
            r.calls >= 1000 && r.calls <= 3000,
            "{name}: {} calls",
            r.calls
        );
    }
}

#[test]
fn sosroute_meets_the_dominance_bounds_on_the_robust_decision_worlds() {
    let broken: Vec<String> = ROBUST
        .iter()
        .flat_map(|name| sosroute::sim::dominance(&run(name)))
        .map(|v| v.to_string())
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Where the issue's worlds have a way out within the caller's patience, sosroute finds it for
/// (nearly) every caller the oracle connects. The slow-scan Rogers world (a 40 s scan, past the
/// network's own 32 s give-up) is the exception: sosroute gives the other network 64 s only on
/// its redial (rule 9), after the home network's own redial, and 90 s of patience is spent by
/// then for nearly every caller; only the oracle knows to wait 40 s at once.
#[test]
fn sosroute_is_close_to_the_oracle_on_the_robust_decision_worlds() {
    for name in ROBUST.iter().filter(|n| **n != "rogers-2022-slow-scan") {
        assert_close_to_the_oracle(&run(name));
    }
}

/// sosroute connects at least 99 % of the calls the oracle connects in `r`.
fn assert_close_to_the_oracle(r: &Report) {
    let (sos, oracle) = (strategy(r, "sosroute"), strategy(r, "oracle"));
    assert!(
        f64::from(sos.connected) >= 0.99 * f64::from(oracle.connected),
        "{}: sosroute {} < 99 % of oracle {}",
        r.scenario,
        sos.connected,
        oracle.connected
    );
}

/// Rule 9's doubled redial in a hold-down: in gen-1073 (a shared router; the other network needs
/// a 45.9 s scan and most handsets' monitors say it is broken, the rest that it works), the
/// other network is held down after each report that it works, but no report that it is down is
/// fresh, so its redial after a timeout waits twice as long and connects. While the hold-down
/// counted as a report of "down" for the redial, 73.3 % of the calls connected: exactly
/// `android_like`'s 74.3 % less the one point the bound allows, one call from breaking it.
#[test]
fn a_long_route_in_its_hold_down_gets_its_doubled_redial() {
    assert_close_to_the_oracle(&run("regress-gen-1073"));
}

/// Rule 9's doubled redial: in the slow-scan Rogers world (a 40 s scan, past the network's own
/// 32 s give-up), a caller who keeps waiting three minutes connects, because the other network's
/// redial waits 64 s; with every redial capped at the give-up no caller ever did (3.2 %, the
/// dual-SIM ones), and neither does `android_like`.
#[test]
fn a_scan_slower_than_the_give_up_connects_on_its_redial() {
    let text = std::fs::read_to_string(scenario_path("rogers-2022-slow-scan")).expect("readable");
    assert!(
        text.contains("\npatience_s = 90\n"),
        "the scenario's patience moved"
    );
    let patient = text.replace("\npatience_s = 90\n", "\npatience_s = 180\n");
    let scenario = Scenario::from_toml(&patient).expect("valid");
    let r = replay(scenario, &Policy::us_default(), &mut |_| {}).expect("replays");
    assert_close_to_the_oracle(&r);
    assert!(strategy(&r, "sosroute").connected > strategy(&r, "android_like").connected);
}

/// Every `scenarios/regress-*.toml`: worlds that once broke a bound, kept so they never do again.
fn regression_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("regress-") && n.ends_with(".toml"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn sosroute_meets_the_dominance_bounds_on_every_regression_world() {
    let mut broken = Vec::new();
    for path in regression_files() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let s = Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let r = replay(s, &Policy::us_default(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        broken.extend(sosroute::sim::dominance(&r).iter().map(|v| v.to_string()));
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Malformed scenarios: the error names the key and the line.

const BASE: &str = r#"[scenario]
name = "small"
window_s = 600
seed = 3

[calls]
count = 50
arrival = "uniform"
patience_s = 90

[[component]]
name = "home_ran"
kind = "radio"
[[component]]
name = "other_ran"
kind = "radio"

[[route]]
kind = "home_cellular"
needs = ["home_ran"]
setup_s = 3.0
[[route]]
kind = "other_network"
needs = ["other_ran"]
setup_s = 9.0

[[event]]
at_s = 0
component = "home_ran"
works = false
fails_by = "no_signal"
observed = "no_service"
share = 0.5
"#;

/// `BASE` with `from` replaced by `to`, the error it gives, and the line `to` is on.
fn error_for(from: &str, to: &str) -> (String, usize) {
    assert!(BASE.contains(from), "{from}");
    let text = BASE.replacen(from, to, 1);
    let line = text
        .lines()
        .position(|l| l == to.lines().last().unwrap_or(to))
        .map(|i| i + 1)
        .expect("replacement present");
    let err = match Scenario::from_toml(&text) {
        Ok(s) => replay(s, &Policy::us_default(), &mut |_| {})
            .err()
            .map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    (err.expect("the scenario is rejected"), line)
}

fn assert_names(err: &str, key: &str, line: usize) {
    assert!(err.contains(key), "{err:?} does not name {key}");
    assert!(
        err.contains(&format!("line {line}:")),
        "{err:?} does not name line {line}"
    );
}

#[test]
fn the_base_scenario_is_valid() {
    let s = Scenario::from_toml(BASE).expect("valid");
    let r = replay(s, &Policy::us_default(), &mut |_| {}).expect("replays");
    assert_eq!(strategy(&r, "oracle").connected, 50);
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let (err, line) = error_for("setup_s = 9.0\n", "setup_s = 9.0\nsetup_time = 4\n");
    assert_names(&err, "setup_time", line);
    let (err, line) = error_for("seed = 3\n", "seed = 3\nsed = 4\n");
    assert_names(&err, "sed", line);
}

#[test]
fn event_naming_an_unknown_component_is_named_with_its_line() {
    let (err, line) = error_for("component = \"home_ran\"", "component = \"home_rna\"");
    assert_names(&err, "event.component", line);
    assert!(err.contains("home_rna"), "{err}");
}

#[test]
fn share_outside_unit_interval_is_named_with_its_line() {
    let (err, line) = error_for("share = 0.5", "share = 1.5");
    assert_names(&err, "event.share", line);
    let (err, line) = error_for("share = 0.5", "share = -0.1");
    assert_names(&err, "event.share", line);
    let (err, line) = error_for("share = 0.5", "share = 0.5\nshare_from = 0.7");
    assert_names(&err, "event.share_from", line);
}

#[test]
fn negative_times_are_named_with_their_line() {
    let (err, line) = error_for("at_s = 0", "at_s = -5");
    assert_names(&err, "event.at_s", line);
    let (err, line) = error_for("setup_s = 3.0", "setup_s = -3.0");
    assert_names(&err, "route.setup_s", line);
    let (err, line) = error_for("patience_s = 90", "patience_s = -1");
    assert_names(&err, "calls.patience_s", line);
    let (err, line) = error_for("share = 0.5", "share = 0.5\nobserved_after_s = -2");
    assert_names(&err, "event.observed_after_s", line);
}

#[test]
fn other_semantic_errors_are_named_with_their_line() {
    let (err, line) = error_for("kind = \"other_network\"", "kind = \"carrier_pigeon\"");
    assert_names(&err, "route.kind", line);
    let (err, line) = error_for(
        "needs = [\"other_ran\"]",
        "needs = [\"other_ran\"]\nrequires = [\"jetpack\"]",
    );
    assert_names(&err, "route.requires", line);
    let (err, line) = error_for("observed = \"no_service\"", "observed = \"down\"");
    assert_names(&err, "event.observed", line);
    let (err, line) = error_for("fails_by = \"no_signal\"", "fails_by = \"reject\"");
    assert_names(&err, "event.reject_s", line);
}

#[test]
fn a_component_the_policy_does_not_declare_is_explained() {
    let text = BASE.replace("other_ran", "neighbour_ran");
    let s = Scenario::from_toml(&text).expect("valid on its own");
    let err = replay(s, &Policy::us_default(), &mut |_| {})
        .expect_err("the default policy lacks it")
        .to_string();
    assert!(
        err.contains("neighbour_ran") && err.contains("--policy"),
        "{err}"
    );
    assert!(err.contains("line 15:"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Parts of the format the shipped scenarios do not use: frozen monitors, the shared router,
// Poisson arrival, rejects, text-first callers.

const FROZEN_CORE: &str = r#"[scenario]
name = "frozen-core"
title = "Radio up, core dead, IMS monitor frozen at 'up'"
window_s = 3600
seed = 11
report_every_s = 5
router = "shared"

[calls]
count = 1000
arrival = "poisson"
patience_s = 90
text_first = 0.1

[population]
wifi_calling = 0.3
sms = 1.0
psap_text_ready = 0.5

[[component]]
name = "home_ran"
kind = "radio"
[[component]]
name = "home_core"
kind = "service"
[[component]]
name = "other_ran"
kind = "radio"
[[component]]
name = "wifi"
kind = "service"
[[component]]
name = "tcc"
kind = "service"

[[route]]
kind = "home_cellular"
needs = ["home_ran", "home_core"]
setup_s = 3.0
[[route]]
kind = "other_network"
needs = ["other_ran"]
setup_s = 9.0
[[route]]
kind = "wifi_calling"
needs = ["wifi", "home_core"]
requires = ["wifi_calling"]
setup_s = 4.0
[[route]]
kind = "text"
needs = ["home_ran", "tcc"]
requires = ["sms", "psap_text_ready"]
setup_s = 25.0

[[event]]
at_s = 600
component = "home_core"
works = false
fails_by = "timeout"
monitor = "frozen"
share = 1.0
[[event]]
at_s = 1800
component = "home_core"
fails_by = "reject"
reject_s = 1.5
share = 0.5
[[event]]
at_s = 3000
component = "home_core"
works = true
monitor = "live"
share = 1.0
"#;

#[test]
fn shared_router_and_frozen_monitor_scenario_replays() {
    for mode in ["shared", "per_caller"] {
        let text = FROZEN_CORE.replace("router = \"shared\"", &format!("router = \"{mode}\""));
        let s = Scenario::from_toml(&text).expect("valid");
        let r = replay(s, &Policy::us_default(), &mut |_| {}).expect("replays");
        assert_eq!(r.router, mode);
        let oracle = strategy(&r, "oracle");
        let sos = strategy(&r, "sosroute");
        assert_eq!(oracle.connected, 1000, "{mode}");
        assert!(
            sos.connected as f64 >= 0.99 * 1000.0,
            "{mode}: {}",
            sos.connected
        );
        assert!(
            sos.connected >= strategy(&r, "android_like").connected,
            "{mode}"
        );
        // The frozen monitor keeps saying "up" to Android, so it waits out timer B on the core.
        let android_p95 = strategy(&r, "android_like").ttc_p95_s.unwrap_or(0.0);
        assert!(android_p95 >= 32.0, "{mode}: {android_p95}");
        assert!(strategy(&r, "home_only").connected < 1000, "{mode}");
        // Once the core is back, calls go home again: the breaker's half-open trial runs and
        // closes it, even on a shared router that saw every failure (text-first callers aside).
        let home = |s: &StrategyReport| {
            s.routes
                .iter()
                .find(|r| r.kind == "home_cellular")
                .map_or(0, |r| r.connected)
        };
        let text_first = strategy(&r, "sosroute")
            .routes
            .iter()
            .find(|r| r.kind == "text")
            .map_or(0, |r| r.connected);
        assert!(
            home(sos) + text_first >= home(oracle) * 9 / 10,
            "{mode}: home {} vs oracle {}",
            home(sos),
            home(oracle)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The command-line tool.

/// Runs `cmd` and returns its output, failing the test with its standard error if it fails.
fn succeeds(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn cli_replays_writes_json_and_svg_and_fails_cleanly() {
    let exe = env!("CARGO_BIN_EXE_sosroute");
    let dir = std::env::temp_dir().join(format!("sosroute-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (json, svg) = (dir.join("r.json"), dir.join("r.svg"));
    let out = succeeds(
        Command::new(exe)
            .arg("replay")
            .arg(scenario_path("calm-day"))
            .arg("--json")
            .arg(&json)
            .arg("--svg")
            .arg(&svg),
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("sosroute / oracle"), "{table}");
    // Progress goes to stderr only when it is a terminal; here it is a pipe.
    assert!(out.stderr.is_empty());
    let chart = std::fs::read_to_string(&svg).expect("svg written");
    assert!(
        chart.starts_with("<svg") && chart.contains("No outage") && chart.contains("android_like")
    );
    let json_text = std::fs::read_to_string(&json).expect("json written");
    let parsed: serde_json::Value = serde_json::from_str(&json_text).expect("valid JSON");
    assert_eq!(parsed[0]["scenario"], "calm-day");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, BASE.replace("seed = 3", "seed = 3\nseeds = 4")).expect("write");
    let out = Command::new(exe)
        .arg("replay")
        .arg(&bad)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seeds") && err.contains("line 5"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = Command::new(exe)
        .arg("check-policy")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/us-handset.toml"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_generates_worlds_and_names_bad_arguments() {
    let exe = env!("CARGO_BIN_EXE_sosroute");
    let dir = std::env::temp_dir().join(format!("sosroute-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = succeeds(Command::new(exe).args(["generate", "--seed", "7", "--calls", "40"]));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let world = dir.join("w.toml");
    std::fs::write(&world, &text).expect("write");
    let out = succeeds(Command::new(exe).arg("replay").arg(&world));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gen-7"));
    // Same seed, same text.
    let again = Command::new(exe)
        .args(["generate", "--seed", "7", "--calls", "40"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&again.stdout), text);

    let chart = dir.join("worlds.svg");
    let out = Command::new(exe)
        .args([
            "worlds", "--count", "3", "--from", "5", "--calls", "30", "--worst", "2", "--svg",
        ])
        .arg(&chart)
        .output()
        .expect("runs");
    let svg = std::fs::read_to_string(&chart).expect("the chart is written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<circle").count(), 3, "one dot per world");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("seeds 5..7") && table.contains("distribution"),
        "{table}"
    );
    assert!(table.contains("dominance violations:"), "{table}");
    // Exit status 1 exactly when a world breaks a bound.
    let none = table.contains("violations: 0 of 3");
    assert_eq!(out.status.code(), Some(if none { 0 } else { 1 }), "{table}");

    for (args, named) in [
        (&["generate"][..], "--seed"),
        (&["generate", "--seed", "x"][..], "--seed"),
        (&["generate", "--seed"][..], "--seed"),
        (&["generate", "--seed", "1", "--calls", "0"][..], "--calls"),
        (&["generate", "--sed", "1"][..], "--sed"),
        (&["worlds", "--count", "many"][..], "--count"),
        (&["worlds", "--from", "-1"][..], "--from"),
        (&["worlds", "--worst"][..], "--worst"),
        (&["worlds", "--policy"][..], "--policy"),
        (&["worlds", "--svg"][..], "--svg"),
    ] {
        let out = Command::new(exe).args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
