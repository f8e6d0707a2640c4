//! `sosroute`: replay outage scenarios through the router and its baselines, and check policy
//! files, sign and preview policies. Hand-written argument parsing: no parser dependency.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sosroute::sim::dominance::{dominance, strategy, Violation};
use sosroute::sim::generate::{replay_generated, DEFAULT_CALLS};
use sosroute::sim::{self, Report, Scenario};
use sosroute::{Policy, PolicySignature, PublicKey, SecretKey};

const HELP: &str = "\
sosroute — per-call routing of 911 calls; outage replay and policy checks

USAGE:
    sosroute replay SCENARIO... [--policy FILE] [--json OUT] [--svg OUT] [--audit LOG]
    sosroute audit replay LOG [--call ID]
    sosroute check-policy FILE
    sosroute generate --seed N [--calls K]
    sosroute worlds [--count N] [--from SEED] [--calls K] [--worst M] [--policy FILE] [--svg OUT]
    sosroute preview-policy CANDIDATE [--policy CURRENT] [--tolerance POINTS] --against (SCENARIO | AUDIT.jsonl)...
    sosroute keygen OUT_SECRET OUT_PUBLIC
    sosroute sign-policy POLICY --key SECRET > POLICY.sig
    sosroute verify-policy POLICY --sig POLICY.sig --pub PUBLIC
    sosroute --help

COMMANDS:
    replay        Replay each scenario file (scenarios/FORMAT.md) through the strategies
                  oracle, home_only, android_like and sosroute on identical callers, and print
                  the comparison table. A scenario with [[policy_change]] also shows each
                  change's probation (kept, or rolled back when and why) and sosroute with
                  probation off.
    audit replay  Re-derive every decision recorded in the audit log LOG (JSON lines from
                  Router::drain_audit / sos_router_audit_drain, or replay --audit): rebuild the
                  state from its checkpoints and state records, plan each recorded request again
                  on the state it read, and compare. Exit status 1, listing them, if any
                  decision differs or cannot be re-derived (records dropped before it).
                  With --call ID, first print that call's story: each decision explained as
                  re-derived, each attempt's outcome and timing.
    check-policy  Validate a policy file (TOML, or JSON by .json extension); print \"ok\", its
                  SHA-256 identity and a summary, or the field that is wrong.
    preview-policy  Replay each SCENARIO through sosroute under CURRENT (default: the shipped
                  policy) and CANDIDATE, side by side (connected %, p50/p95), and plan a fixed
                  corpus of requests (every media x capability combination, a few states) under
                  both, counting changed decisions with examples. An AUDIT.jsonl file (an audit
                  log: `replay --audit`, Router::drain_audit) is a corpus of recorded decisions:
                  each is planned again on the state it read, under the policy it was made with
                  and under CANDIDATE, and the changes are counted the same way. Exit status 1,
                  with the reason, if under CANDIDATE a voice request (of the corpus or of a
                  log) gets no attempt or a scenario connects more than POINTS (default 0.5)
                  percentage points fewer calls.
    keygen        Make an Ed25519 key pair for signing policies: the secret key to OUT_SECRET
                  (mode 0600; keep it offline), the public key to OUT_PUBLIC (give it to the
                  routers). Refuses to overwrite a file.
    sign-policy   Check POLICY, then print the detached signature of its exact bytes made with
                  the secret key file SECRET.
    verify-policy Check POLICY and that POLICY.sig is PUBLIC's signature of its exact bytes, as
                  a router with that trusted key would. Exit status 1, with the reason, if not.
    generate      Print the generated outage world of seed N as a scenario file (same seed,
                  same text): `sosroute generate --seed 7 > w.toml && sosroute replay w.toml`.
    worlds        Replay N generated worlds (seeds SEED..SEED+N) and check sosroute's dominance
                  bounds on each (>= home_only; >= android_like - 1 point connected; on outage
                  worlds p95 time to connect <= android_like's). Prints the M worst worlds with
                  their seeds, the distributions of sosroute / android_like and sosroute /
                  oracle connected and of the p95 difference, and every broken bound. Exit
                  status 1 if any world breaks a bound.

OPTIONS (replay):
    --policy FILE  Policy for the sosroute strategy (default: the shipped us-handset policy).
    --json OUT     Also write the reports as JSON (byte-identical for the same seed).
    --svg OUT      Also write the chart. With several scenarios, one file per scenario:
                   OUT's stem, a dash and the scenario name.
    --audit LOG    Also write the audit trail of every router of the sosroute strategy to LOG
                   as JSON lines (for `sosroute audit replay`).

OPTIONS (generate, worlds):
    --seed N       The world's seed (generate; required).
    --calls K      Calls per world (default 300).
    --count N      Worlds to replay (worlds; default 200).
    --from SEED    First seed (worlds; default 0).
    --worst M      Worst worlds to list (worlds; default 10).
    --svg OUT      Also write a chart of the worlds: android_like's connected % against
                   sosroute's, one dot per world (worlds).
    --policy FILE  Policy for the sosroute strategy (worlds).
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
        Some("audit") => audit(&args[1..]),
        Some("check-policy") => check_policy(&args[1..]),
        Some("generate") => generate(&args[1..]),
        Some("worlds") => worlds(&args[1..]),
        Some("preview-policy") => preview_policy(&args[1..]),
        Some("keygen") => keygen(&args[1..]),
        Some("sign-policy") => sign_policy(&args[1..]),
        Some("verify-policy") => verify_policy(&args[1..]),
        Some(other) => Err(usage(format!("unknown command {other:?}"))),
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn load_policy(path: &Path) -> Result<Policy, Failure> {
    parse_policy(path, &read(path)?)
}

/// The policy in `text`, read from `path`: JSON by a `.json` extension, TOML otherwise.
fn parse_policy(path: &Path, text: &str) -> Result<Policy, Failure> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        Policy::from_json(text)
    } else {
        Policy::from_toml(text)
    };
    parsed.map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// `--name VALUE` pairs, in the order given.
type Options<'a> = Vec<(&'a str, &'a str)>;

/// `FILE --name VALUE...` arguments: the one positional FILE and each named option once.
fn file_and_options<'a>(
    command: &str,
    args: &'a [String],
    names: &[&str],
) -> Result<(&'a str, Options<'a>), Failure> {
    let mut file = None;
    let mut options: Vec<(&str, &str)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if names.contains(&a.as_str()) {
            let value = it
                .next()
                .ok_or_else(|| usage(format!("{command}: {a} needs a file name")))?;
            if options.iter().any(|(k, _)| k == a) {
                return Err(usage(format!("{command}: {a} given twice")));
            }
            options.push((a.as_str(), value.as_str()));
        } else if a.starts_with("--") {
            return Err(usage(format!("{command}: unknown option {a:?}")));
        } else if file.replace(a.as_str()).is_some() {
            return Err(usage(format!("{command}: takes one policy FILE")));
        }
    }
    let file = file.ok_or_else(|| usage(format!("{command}: needs a policy FILE")))?;
    for name in names {
        if !options.iter().any(|(k, _)| k == name) {
            return Err(usage(format!("{command}: {name} FILE is required")));
        }
    }
    Ok((file, options))
}

fn option<'a>(options: &[(&str, &'a str)], name: &str) -> &'a str {
    options
        .iter()
        .find(|(k, _)| *k == name)
        .map(|&(_, v)| v)
        .expect("file_and_options checked required options")
}

/// Writes a new file (never overwriting one), readable only by its owner if `secret`.
fn create(path: &Path, text: &str, secret: bool) -> Result<(), Failure> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options
        .open(path)
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn preview_policy(args: &[String]) -> Result<(), Failure> {
    let mut candidate = None;
    let mut current = None;
    let mut tolerance = sim::preview::DEFAULT_TOLERANCE_POINTS;
    let mut scenarios = Vec::new();
    let mut against = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--policy" => {
                let file = it
                    .next()
                    .ok_or_else(|| usage("preview-policy: --policy needs a file name"))?;
                if current.replace(PathBuf::from(file)).is_some() {
                    return Err(usage("preview-policy: --policy given twice"));
                }
            }
            "--tolerance" => {
                let value = it
                    .next()
                    .ok_or_else(|| usage("preview-policy: --tolerance needs a number"))?;
                tolerance = value
                    .parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite() && *t >= 0.0)
                    .ok_or_else(|| {
                        usage(format!(
                            "preview-policy: --tolerance {value:?}: expected points >= 0"
                        ))
                    })?;
            }
            "--against" => against = true,
            s if s.starts_with("--") => {
                return Err(usage(format!("preview-policy: unknown option {s:?}")))
            }
            s if against => scenarios.push(PathBuf::from(s)),
            s => {
                if candidate.replace(PathBuf::from(s)).is_some() {
                    return Err(usage(
                        "preview-policy: one CANDIDATE; scenarios go after --against",
                    ));
                }
            }
        }
    }
    let candidate = candidate.ok_or_else(|| usage("preview-policy: needs a CANDIDATE policy"))?;
    if scenarios.is_empty() {
        return Err(usage(
            "preview-policy: needs --against SCENARIO... or AUDIT.jsonl...",
        ));
    }
    let candidate = load_policy(&candidate)?;
    let current = match &current {
        Some(p) => load_policy(p)?,
        None => Policy::us_default(),
    };
    let mut parsed = Vec::with_capacity(scenarios.len());
    let mut logs = Vec::new();
    for path in &scenarios {
        if path.extension().is_some_and(|e| e == "jsonl") {
            logs.push((path.display().to_string(), read(path)?));
            continue;
        }
        parsed.push(scenario_at(path, &read(path)?)?);
    }
    let preview = sim::preview::preview_with_audit(&current, &candidate, parsed, &logs, tolerance)
        .map_err(|e| fail(format!("preview-policy: {e}")))?;
    print!("{}", preview.table());
    if preview.accepted() {
        Ok(())
    } else {
        Err(fail(format!(
            "candidate refused: {}",
            preview.refusals.join("; ")
        )))
    }
}

fn keygen(args: &[String]) -> Result<(), Failure> {
    use rand_core::{OsRng, RngCore};
    let [secret_path, public_path] = args else {
        return Err(usage("keygen takes OUT_SECRET and OUT_PUBLIC"));
    };
    for path in [secret_path, public_path] {
        if Path::new(path).exists() {
            return Err(fail(format!(
                "{path}: exists; keygen never overwrites a key"
            )));
        }
    }
    let mut seed = [0u8; 32];
    OsRng.try_fill_bytes(&mut seed).map_err(|e| {
        fail(format!(
            "keygen: the operating system's random source failed: {e}"
        ))
    })?;
    let secret = SecretKey::from_seed(&seed);
    seed.fill(0);
    let public = secret.public_key();
    // The public file first: if it cannot be written, no secret key is left lying around.
    create(Path::new(public_path), &public.to_file(), false)?;
    create(Path::new(secret_path), &secret.to_file(), true)?;
    println!("public key {public}");
    println!("  secret key: {secret_path} (keep it offline; anyone holding it can sign policies)");
    println!("  public key: {public_path} (give it to the routers as a trusted key)");
    Ok(())
}

fn sign_policy(args: &[String]) -> Result<(), Failure> {
    let (file, options) = file_and_options("sign-policy", args, &["--key"])?;
    let key_path = Path::new(option(&options, "--key"));
    let secret = SecretKey::from_file(&read(key_path)?)
        .map_err(|e| fail(format!("{}: {e}", key_path.display())))?;
    let path = Path::new(file);
    let text = read(path)?;
    // Nobody should be asked to trust a policy a router would refuse anyway.
    let policy = parse_policy(path, &text)?;
    print!("{}", secret.sign(text.as_bytes()).to_file());
    eprintln!(
        "signed policy {:?} sha256:{} with key {}",
        policy.name(),
        policy.hash(),
        secret.public_key()
    );
    Ok(())
}

fn verify_policy(args: &[String]) -> Result<(), Failure> {
    let (file, options) = file_and_options("verify-policy", args, &["--sig", "--pub"])?;
    let (sig_path, pub_path) = (
        Path::new(option(&options, "--sig")),
        Path::new(option(&options, "--pub")),
    );
    let signature = PolicySignature::from_file(&read(sig_path)?)
        .map_err(|e| fail(format!("{}: {e}", sig_path.display())))?;
    let public = PublicKey::from_file(&read(pub_path)?)
        .map_err(|e| fail(format!("{}: {e}", pub_path.display())))?;
    let path = Path::new(file);
    let bytes = std::fs::read(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    signature
        .verify(&bytes, &[public])
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| fail(format!("{}: not UTF-8: {e}", path.display())))?;
    let policy = parse_policy(path, &text)?;
    println!(
        "ok: policy {:?} sha256:{} signed by {public}",
        policy.name(),
        policy.hash()
    );
    Ok(())
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
    println!("  sha256: {}", policy.hash());
    println!("  components: {}", components.join(", "));
    println!("  routes: {}", routes.join(", "));
    println!(
        "  budget {:.0} s, redials {:.0} s apart at least; breaker opens after {} failures for {:.0} s",
        policy.budget_ms as f64 / 1000.0,
        policy.redial_backoff_ms as f64 / 1000.0,
        policy.failure_threshold,
        policy.cool_down_ms as f64 / 1000.0
    );
    let p = policy.probation;
    if p.period_ms == 0 {
        println!("  probation: off (probation.period_s = 0)");
    } else {
        println!(
            "  probation: {:.0} s after loading; rolled back if, on {} calls or more, it fails \
             {:.1} points more than its predecessor where it decides otherwise",
            p.period_ms as f64 / 1000.0,
            p.min_calls,
            p.tolerance * 100.0
        );
    }
    Ok(())
}

struct ReplayArgs {
    scenarios: Vec<PathBuf>,
    policy: Option<PathBuf>,
    json: Option<PathBuf>,
    svg: Option<PathBuf>,
    audit: Option<PathBuf>,
}

fn parse_replay(args: &[String]) -> Result<ReplayArgs, Failure> {
    let mut out = ReplayArgs {
        scenarios: Vec::new(),
        policy: None,
        json: None,
        svg: None,
        audit: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let slot = match a.as_str() {
            "--policy" => &mut out.policy,
            "--json" => &mut out.json,
            "--svg" => &mut out.svg,
            "--audit" => &mut out.audit,
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

/// The scenario in `text`, read from `path`: its `[[policy_change]]` files are read relative to
/// its folder.
fn scenario_at(path: &Path, text: &str) -> Result<Scenario, Failure> {
    let folder = path.parent().unwrap_or(Path::new(""));
    Scenario::from_toml_at(text, folder).map_err(|e| fail(format!("{}: {e}", path.display())))
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
    let log = args.audit.as_ref().map(|_| sim::AuditLog::default());
    for path in &args.scenarios {
        let text = read(path)?;
        let scenario = scenario_at(path, &text)?;
        let report = sim::replay_audited(scenario, &policy, &mut progress, log.as_ref())
            .map_err(|e| fail(format!("{}: {e}", path.display())))?;
        if !reports.is_empty() {
            println!();
        }
        print!("{}", report.table());
        print_bounds(&report);
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
    if let (Some(out), Some(log)) = (&args.audit, &log) {
        std::fs::write(out, &*log.lock()).map_err(|e| fail(format!("{}: {e}", out.display())))?;
    }
    Ok(())
}

/// The dominance bounds (README rule 12) on one replayed world: met, or each one broken.
fn print_bounds(report: &Report) {
    let broken = dominance(report);
    if broken.is_empty() {
        println!("dominance bounds: met (>= home_only, >= android_like - 1 point, p95 <= android_like's on an outage)");
    }
    for v in broken {
        println!("dominance bound broken: {v}");
    }
}

fn audit(args: &[String]) -> Result<(), Failure> {
    let (command, file, call) = match args {
        [command, file] => (command, file, None),
        [command, file, option, id] if option == "--call" => {
            let id = id
                .parse::<u64>()
                .map_err(|_| usage(format!("audit: --call {id:?}: expected a call id")))?;
            (command, file, Some(id))
        }
        _ => return Err(usage("audit: expected `audit replay LOG [--call ID]`")),
    };
    if command != "replay" {
        return Err(usage(format!(
            "audit: unknown command {command:?}; expected replay"
        )));
    }
    let path = Path::new(file);
    let report = sosroute::audit::replay_call(&read(path)?, call)
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    if let Some(id) = call {
        if report.story.is_empty() {
            println!("call {id}: no record of it in the log");
        }
        for line in &report.story {
            println!("{line}");
        }
        println!();
    }
    println!(
        "{}: {} lines, {} checkpoints, {} state records, {} decisions re-derived identically, \
         {} differ, {} unverifiable, {} records dropped by the router",
        path.display(),
        report.lines,
        report.checkpoints,
        report.state_records,
        report.matched,
        report.mismatches.len(),
        report.unverifiable.len(),
        report.dropped
    );
    for m in &report.mismatches {
        let routes = |a: &[sosroute::Attempt]| {
            a.iter()
                .map(|a| format!("{}@{}ms", a.route.0, a.timeout_ms))
                .collect::<Vec<_>>()
                .join(",")
        };
        println!(
            "line {}: call {}: {} differs; recorded [{}], re-derived [{}]",
            m.line,
            m.call_id,
            m.field,
            routes(&m.recorded),
            routes(&m.replayed)
        );
    }
    if let Some(first) = report.unverifiable.first() {
        println!(
            "unverifiable from line {first}: the state those decisions read is not in the log \
             (records dropped before them)"
        );
    }
    if report.all_match() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} decisions differ, {} cannot be re-derived",
            report.mismatches.len(),
            report.unverifiable.len()
        )))
    }
}

/// `--name VALUE` options of `generate` and `worlds`: each a whole number, at most once.
fn parse_numbers(
    command: &str,
    args: &[String],
    known: &[&str],
) -> Result<Vec<(String, u64)>, Failure> {
    let mut out: Vec<(String, u64)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--help" || a == "-h" {
            print!("{HELP}");
            std::process::exit(0);
        }
        if !known.contains(&a.as_str()) {
            return Err(usage(format!("{command}: unknown argument {a:?}")));
        }
        let value = it
            .next()
            .ok_or_else(|| usage(format!("{command}: {a} needs a whole number")))?;
        let n: u64 = value
            .parse()
            .map_err(|_| usage(format!("{command}: {a} {value:?}: expected a whole number")))?;
        if out.iter().any(|(k, _)| k == a) {
            return Err(usage(format!("{command}: {a} given twice")));
        }
        out.push((a.clone(), n));
    }
    Ok(out)
}

fn number(options: &[(String, u64)], name: &str) -> Option<u64> {
    options.iter().find(|(k, _)| k == name).map(|&(_, v)| v)
}

/// Calls per world from `--calls`, checked.
fn calls_option(command: &str, options: &[(String, u64)]) -> Result<u32, Failure> {
    match number(options, "--calls") {
        None => Ok(DEFAULT_CALLS),
        Some(k) if (1..=1_000_000).contains(&k) => Ok(k as u32),
        Some(k) => Err(usage(format!(
            "{command}: --calls {k}: must be 1..=1000000"
        ))),
    }
}

fn generate(args: &[String]) -> Result<(), Failure> {
    let options = parse_numbers("generate", args, &["--seed", "--calls"])?;
    let seed = number(&options, "--seed").ok_or_else(|| usage("generate: --seed N is required"))?;
    let calls = calls_option("generate", &options)?;
    print!("{}", sim::generate::generate(seed, calls));
    Ok(())
}

/// One replayed world's figures.
struct World {
    seed: u64,
    sos_pct: f64,
    android_pct: f64,
    oracle_pct: f64,
    /// sosroute − android_like connected, percentage points.
    points: f64,
    sos_over_android: f64,
    sos_over_oracle: f64,
    sos_p95: Option<f64>,
    android_p95: Option<f64>,
    violations: Vec<Violation>,
}

/// `part / whole` for connected counts; 1 when both are zero, infinite when only `whole` is.
fn ratio(part: u32, whole: u32) -> f64 {
    match (part, whole) {
        (0, 0) => 1.0,
        (_, 0) => f64::INFINITY,
        _ => f64::from(part) / f64::from(whole),
    }
}

fn figures(seed: u64, report: &Report) -> World {
    let get = |name| strategy(report, name).expect("every strategy is reported");
    let (sos, android, oracle) = (get("sosroute"), get("android_like"), get("oracle"));
    World {
        seed,
        sos_pct: sos.connected_pct,
        android_pct: android.connected_pct,
        oracle_pct: oracle.connected_pct,
        points: sos.connected_pct - android.connected_pct,
        sos_over_android: ratio(sos.connected, android.connected),
        sos_over_oracle: ratio(sos.connected, oracle.connected),
        sos_p95: sos.ttc_p95_s,
        android_p95: android.ttc_p95_s,
        violations: dominance(report),
    }
}

/// Nearest-rank percentiles of `xs` (sorted here): min, p5, p50, p95, max.
fn spread(mut xs: Vec<f64>) -> String {
    if xs.is_empty() {
        return "      -".repeat(5);
    }
    xs.sort_by(f64::total_cmp);
    [0.0, 5.0, 50.0, 95.0, 100.0]
        .iter()
        .map(|p| {
            let rank = ((p / 100.0 * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
            format!("{:>8.3}", xs[rank - 1])
        })
        .collect()
}

fn secs(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

fn world_line(w: &World) -> String {
    format!(
        "{:>10} {:>7.2} {:>9.2} {:>8.2} {:>+7.2} {:>10.3} {:>7} {:>11} {:>10}",
        w.seed,
        w.sos_pct,
        w.android_pct,
        w.oracle_pct,
        w.points,
        w.sos_over_oracle,
        secs(w.sos_p95),
        secs(w.android_p95),
        w.violations.len()
    )
}

const WORLD_HEADER: &str =
    "      seed   sos %  android %  oracle %  points  sos/oracle sos p95 android p95  violations";

fn worlds(args: &[String]) -> Result<(), Failure> {
    let mut numeric = Vec::new();
    let mut policy_file = None;
    let mut svg_file = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--svg" {
            let file = it
                .next()
                .ok_or_else(|| usage("worlds: --svg needs a file name"))?;
            if svg_file.replace(PathBuf::from(file)).is_some() {
                return Err(usage("worlds: --svg given twice"));
            }
        } else if a == "--policy" {
            let file = it
                .next()
                .ok_or_else(|| usage("worlds: --policy needs a file name"))?;
            if policy_file.replace(PathBuf::from(file)).is_some() {
                return Err(usage("worlds: --policy given twice"));
            }
        } else {
            numeric.push(a.clone());
        }
    }
    let options = parse_numbers(
        "worlds",
        &numeric,
        &["--count", "--from", "--calls", "--worst"],
    )?;
    let count = number(&options, "--count").unwrap_or(200);
    if count == 0 {
        return Err(usage("worlds: --count 0: must be at least 1"));
    }
    let from = number(&options, "--from").unwrap_or(0);
    from.checked_add(count)
        .ok_or_else(|| usage("worlds: --from + --count overflows"))?;
    let calls = calls_option("worlds", &options)?;
    let worst = number(&options, "--worst").unwrap_or(10) as usize;
    let policy = match &policy_file {
        Some(p) => load_policy(p)?,
        None => Policy::us_default(),
    };

    let mut all = Vec::with_capacity(count.min(1 << 20) as usize);
    for seed in from..from + count {
        let report = replay_generated(seed, calls, &policy)
            .map_err(|e| fail(format!("generated world {seed}: {e}")))?;
        all.push(figures(seed, &report));
    }

    println!(
        "{count} generated worlds (seeds {from}..{}), {calls} calls each, policy {}",
        from + count - 1,
        policy.name()
    );
    let mut by_points: Vec<&World> = all.iter().collect();
    by_points.sort_by(|a, b| a.points.total_cmp(&b.points).then(a.seed.cmp(&b.seed)));
    println!("\nworst {worst} by sosroute - android_like connected (points):");
    println!("{WORLD_HEADER}");
    for w in by_points.iter().take(worst) {
        println!("{}", world_line(w));
    }
    let mut by_oracle: Vec<&World> = all.iter().collect();
    by_oracle.sort_by(|a, b| {
        a.sos_over_oracle
            .total_cmp(&b.sos_over_oracle)
            .then(a.seed.cmp(&b.seed))
    });
    println!("\nworst {worst} by sosroute / oracle connected:");
    println!("{WORLD_HEADER}");
    for w in by_oracle.iter().take(worst) {
        println!("{}", world_line(w));
    }

    let p95_diffs: Vec<f64> = all
        .iter()
        .filter_map(|w| Some(w.sos_p95? - w.android_p95?))
        .collect();
    println!("\ndistribution over worlds           min      p5     p50     p95     max");
    println!(
        "sosroute / android_like    {}",
        spread(all.iter().map(|w| w.sos_over_android).collect())
    );
    println!(
        "sosroute / oracle          {}",
        spread(all.iter().map(|w| w.sos_over_oracle).collect())
    );
    println!(
        "p95 sosroute - android s   {}  ({} worlds where both connected)",
        spread(p95_diffs.clone()),
        p95_diffs.len()
    );

    if let Some(path) = &svg_file {
        let points: Vec<sim::svg::WorldPoint> = all
            .iter()
            .map(|w| sim::svg::WorldPoint {
                android_pct: w.android_pct,
                sos_pct: w.sos_pct,
                breaks: !w.violations.is_empty(),
            })
            .collect();
        let title = format!(
            "Generated worlds {from}-{}: sosroute against android_like",
            from + count - 1
        );
        std::fs::write(path, sim::svg::worlds_chart(&title, &points))
            .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    }

    let failing: Vec<&World> = all.iter().filter(|w| !w.violations.is_empty()).collect();
    let broken: usize = failing.iter().map(|w| w.violations.len()).sum();
    println!(
        "\ndominance violations: {} of {count} worlds break a bound ({broken} bounds broken)",
        failing.len()
    );
    for w in &failing {
        for v in &w.violations {
            println!("  seed {}: {v}", w.seed);
        }
    }
    if failing.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} of {count} generated worlds break the dominance bounds",
            failing.len()
        )))
    }
}
