//! `sosroute`: replay outage scenarios through the router and its baselines, and check policy
//! files. Hand-written argument parsing: the library's dependency set stays as it is.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sosroute::sim::{self, Report, Scenario};
use sosroute::Policy;

const HELP: &str = "\
sosroute — per-call routing of 911 calls; outage replay and policy checks

USAGE:
    sosroute replay SCENARIO... [--policy FILE] [--json OUT] [--svg OUT]
    sosroute check-policy FILE
    sosroute --help

COMMANDS:
    replay        Replay each scenario file (scenarios/FORMAT.md) through the strategies
                  oracle, home_only, android_like and sosroute on identical callers, and print
                  the comparison table.
    check-policy  Validate a policy file (TOML, or JSON by .json extension); print \"ok\" and a
                  summary, or the field that is wrong.

OPTIONS (replay):
    --policy FILE  Policy for the sosroute strategy (default: the shipped us-handset policy).
    --json OUT     Also write the reports as JSON (byte-identical for the same seed).
    --svg OUT      Also write the chart. With several scenarios, one file per scenario:
                   OUT's stem, a dash and the scenario name.
";

/// A command-line failure: the message to print; the exit status is 1 (2 for usage errors).
struct Failure {
    message: String,
    usage: bool,
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        usage: false,
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        usage: true,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("sosroute: {}", f.message);
            if f.usage {
                eprintln!("run `sosroute --help` for usage");
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    match args.first().map(String::as_str) {
        None | Some("--help" | "-h" | "help") => {
            print!("{HELP}");
            Ok(())
        }
        Some("replay") => replay(&args[1..]),
        Some("check-policy") => check_policy(&args[1..]),
        Some(other) => Err(usage(format!("unknown command {other:?}"))),
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn load_policy(path: &Path) -> Result<Policy, Failure> {
    let text = read(path)?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        Policy::from_json(&text)
    } else {
        Policy::from_toml(&text)
    };
    parsed.map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn check_policy(args: &[String]) -> Result<(), Failure> {
    let [file] = args else {
        return Err(usage("check-policy takes exactly one FILE"));
    };
    let policy = load_policy(Path::new(file))?;
    let routes: Vec<String> = policy
        .routes()
        .iter()
        .map(|r| {
            format!(
                "{} ({}, {:.1} s)",
                r.name,
                r.kind.name(),
                r.setup_timeout_ms as f64 / 1000.0
            )
        })
        .collect();
    let components: Vec<&str> = policy
        .components()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    println!("ok: policy {:?}", policy.name());
    println!("  components: {}", components.join(", "));
    println!("  routes: {}", routes.join(", "));
    println!(
        "  budget {:.0} s, redials {:.0} s apart at least; breaker opens after {} failures for {:.0} s",
        policy.budget_ms as f64 / 1000.0,
        policy.redial_backoff_ms as f64 / 1000.0,
        policy.failure_threshold,
        policy.cool_down_ms as f64 / 1000.0
    );
    Ok(())
}

struct ReplayArgs {
    scenarios: Vec<PathBuf>,
    policy: Option<PathBuf>,
    json: Option<PathBuf>,
    svg: Option<PathBuf>,
}

fn parse_replay(args: &[String]) -> Result<ReplayArgs, Failure> {
    let mut out = ReplayArgs {
        scenarios: Vec::new(),
        policy: None,
        json: None,
        svg: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let slot = match a.as_str() {
            "--policy" => &mut out.policy,
            "--json" => &mut out.json,
            "--svg" => &mut out.svg,
            "--help" | "-h" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            s if s.starts_with("--") => return Err(usage(format!("unknown option {s:?}"))),
            s => {
                out.scenarios.push(PathBuf::from(s));
                continue;
            }
        };
        let value = it
            .next()
            .ok_or_else(|| usage(format!("{a} needs a file name")))?;
        if slot.replace(PathBuf::from(value)).is_some() {
            return Err(usage(format!("{a} given twice")));
        }
    }
    if out.scenarios.is_empty() {
        return Err(usage("replay needs at least one SCENARIO file"));
    }
    Ok(out)
}

/// Where the chart of `report` goes: `out` itself for one scenario, else one file per scenario.
fn svg_path(out: &Path, report: &Report, several: bool) -> PathBuf {
    if !several {
        return out.to_path_buf();
    }
    let stem = out
        .file_stem()
        .map_or_else(|| "chart".to_owned(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}-{}.svg", report.scenario))
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn replay(args: &[String]) -> Result<(), Failure> {
    let args = parse_replay(args)?;
    let policy = match &args.policy {
        Some(p) => load_policy(p)?,
        None => Policy::us_default(),
    };
    let interactive = std::io::stderr().is_terminal();
    let mut progress = |line: &str| {
        if interactive {
            eprintln!("… {line}");
        }
    };
    let mut reports = Vec::with_capacity(args.scenarios.len());
    for path in &args.scenarios {
        let text = read(path)?;
        let scenario =
            Scenario::from_toml(&text).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        let report = sim::replay(scenario, &policy, &mut progress)
            .map_err(|e| fail(format!("{}: {e}", path.display())))?;
        if !reports.is_empty() {
            println!();
        }
        print!("{}", report.table());
        reports.push(report);
    }
    if let Some(out) = &args.json {
        let json = serde_json::to_string_pretty(&reports)
            .map_err(|e| fail(format!("encoding the JSON report: {e}")))?;
        write(out, &format!("{json}\n"))?;
    }
    if let Some(out) = &args.svg {
        for r in &reports {
            write(&svg_path(out, r, reports.len() > 1), &sim::svg::chart(r))?;
        }
    }
    Ok(())
}
