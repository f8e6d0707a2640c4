//! Scenario files (`scenarios/FORMAT.md`): parsing, and validation into a [`Scenario`] whose
//! every name is resolved to an index and every time is in milliseconds.
//!
//! Unknown keys are rejected by the TOML parser (`deny_unknown_fields`); values the parser accepts
//! but the simulator cannot use (an event naming an unknown component, a share outside [0, 1], a
//! negative time, ...) are rejected here. Both kinds of error name the key and its line.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::observation::{RadioState, ServiceState};
use crate::policy::{ComponentKind, Policy};
use crate::route::RouteKind;

/// Longest time any scenario field may name: thirty days. Keeps millisecond arithmetic far from
/// overflow and catches a misplaced exponent.
const MAX_SECONDS: f64 = 30.0 * 86_400.0;

/// A scenario that cannot be used, with the place in the file that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// 1-based line of the offending key; 0 when the problem is not at one place.
    pub line: usize,
    /// The key (with its section, e.g. `event.share`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "`{}`: {}", self.key, self.message)
        } else {
            write!(f, "line {}: `{}`: {}", self.line, self.key, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

// ---------------------------------------------------------------------------------------------
// The file as written.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    scenario: ScenarioSection,
    calls: CallsSection,
    #[serde(default)]
    population: PopulationSection,
    #[serde(default)]
    psap: PsapSection,
    #[serde(default)]
    component: Vec<ComponentSection>,
    #[serde(default)]
    route: Vec<RouteSection>,
    #[serde(default)]
    event: Vec<EventSection>,
    #[serde(default)]
    policy_change: Vec<PolicyChangeSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyChangeSection {
    at_s: Spanned<f64>,
    policy: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSection {
    name: Spanned<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    sources: Vec<String>,
    window_s: Spanned<f64>,
    seed: u64,
    report_every_s: Option<Spanned<f64>>,
    router: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallsSection {
    count: Spanned<i64>,
    arrival: Spanned<String>,
    patience_s: Spanned<f64>,
    #[serde(default)]
    text_first: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PopulationSection {
    dual_sim: Option<Spanned<f64>>,
    wifi_calling: Option<Spanned<f64>>,
    sms: Option<Spanned<f64>>,
    satellite: Option<Spanned<f64>>,
    psap_text_ready: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PsapSection {
    report_every_s: Option<Spanned<f64>>,
    reported_wrong: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentSection {
    name: Spanned<String>,
    kind: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSection {
    kind: Spanned<String>,
    needs: Vec<Spanned<String>>,
    #[serde(default)]
    requires: Vec<Spanned<String>>,
    setup_s: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSection {
    at_s: Spanned<f64>,
    component: Spanned<String>,
    works: Option<bool>,
    fails_by: Option<Spanned<String>>,
    reject_s: Option<Spanned<f64>>,
    observed: Option<Spanned<String>>,
    observed_after_s: Option<Spanned<f64>>,
    share: Spanned<f64>,
    share_from: Option<Spanned<f64>>,
    monitor: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// The scenario as the simulator uses it.

/// How calls are spread over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Evenly spaced.
    Uniform,
    /// A Poisson process with the same mean rate (conditioned on the count: sorted uniform times).
    Poisson,
}

/// Who owns the router in the `sosroute` strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterMode {
    /// Each handset has its own router.
    PerCaller,
    /// One router serves every call (a PSAP, or a fleet-wide outage feed).
    Shared,
}

/// A population condition a caller may meet (`[population]`, and a route's `requires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PopulationFlag {
    /// Has a second SIM.
    DualSim = 0,
    /// Wi-Fi calling on, on Wi-Fi, E911 address registered.
    WifiCalling = 1,
    /// Can send SMS.
    Sms = 2,
    /// Has satellite SOS messaging.
    Satellite = 3,
    /// The caller's PSAP accepts text-to-911.
    PsapTextReady = 4,
}

impl PopulationFlag {
    /// Every flag, in index order.
    pub const ALL: [PopulationFlag; 5] = [
        PopulationFlag::DualSim,
        PopulationFlag::WifiCalling,
        PopulationFlag::Sms,
        PopulationFlag::Satellite,
        PopulationFlag::PsapTextReady,
    ];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            PopulationFlag::DualSim => "dual_sim",
            PopulationFlag::WifiCalling => "wifi_calling",
            PopulationFlag::Sms => "sms",
            PopulationFlag::Satellite => "satellite",
            PopulationFlag::PsapTextReady => "psap_text_ready",
        }
    }

    fn from_name(name: &str) -> Option<PopulationFlag> {
        PopulationFlag::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// How an attempt through a failed component fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailsBy {
    /// Nothing to attach to: fails at once.
    NoSignal,
    /// Refused by the network after a delay.
    Reject,
    /// Hangs until the strategy's own timer, or the caller's patience.
    Timeout,
}

/// What a monitor reports about a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// A radio component's registration state.
    Radio(RadioState),
    /// A service component's state.
    Service(ServiceState),
}

impl Observed {
    /// The healthy value every component starts with.
    pub fn healthy(kind: ComponentKind) -> Observed {
        match kind {
            ComponentKind::Radio => Observed::Radio(RadioState::InService),
            ComponentKind::Service => Observed::Service(ServiceState::Up),
        }
    }

    /// Whether it reads as healthy (in service / up).
    pub fn is_healthy(self) -> bool {
        matches!(
            self,
            Observed::Radio(RadioState::InService) | Observed::Service(ServiceState::Up)
        )
    }
}

/// `[[component]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Its name (policy component names, by convention).
    pub name: String,
    /// Radio or service.
    pub kind: ComponentKind,
    /// Line of its `name` key, for errors found later (e.g. against a policy).
    pub line: usize,
}

/// `[[route]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Its kind; at most one route per kind.
    pub kind: RouteKind,
    /// Indices of the components an attempt needs.
    pub needs: Vec<usize>,
    /// Population conditions the caller must meet.
    pub requires: Vec<PopulationFlag>,
    /// Time to connect when it works.
    pub setup_ms: u64,
}

/// `[[event]]`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// From when (truth).
    pub at_ms: u64,
    /// Index of the component.
    pub component: usize,
    /// New truth, if named.
    pub works: Option<bool>,
    /// New failure manner, if named.
    pub fails_by: Option<FailsBy>,
    /// New reject delay, if named.
    pub reject_ms: Option<u64>,
    /// New observed value, if named; monitors report it from `at_ms + observed_after_ms`.
    pub observed: Option<Observed>,
    /// Monitor lag.
    pub observed_after_ms: u64,
    /// Lower end of the callers' `u` slice (inclusive).
    pub share_from: f64,
    /// Upper end of the callers' `u` slice (exclusive).
    pub share: f64,
    /// `Some(false)`: the monitor freezes; `Some(true)`: it reports again.
    pub monitor_live: Option<bool>,
}

impl Event {
    /// Whether the event applies to a caller whose draw for its component is `u`.
    pub fn applies(&self, u: f64) -> bool {
        self.share_from <= u && u < self.share
    }
}

/// `[calls]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Calls {
    /// Calls that start during the window.
    pub count: u32,
    /// How they are spread.
    pub arrival: Arrival,
    /// How long a caller waits for a connection.
    pub patience_ms: u64,
    /// Fraction of callers who begin with text.
    pub text_first: f64,
}

/// `[psap]`: how the caller's PSAP's text-readiness reaches the handset — as an advisory
/// re-published every `report_every_ms`, wrong for a share of callers.
#[derive(Debug, Clone, PartialEq)]
pub struct Psap {
    /// How often the text-readiness advisory is re-published (default 600 s).
    pub report_every_ms: u64,
    /// Share of callers for whom the advisory says the opposite of the truth (default 0).
    pub reported_wrong: f64,
}

/// Default `[psap] report_every_s`: ten minutes, well inside the shipped policy's advisory TTL.
pub const PSAP_REPORT_EVERY_MS: u64 = 600_000;

impl Default for Psap {
    fn default() -> Psap {
        Psap {
            report_every_ms: PSAP_REPORT_EVERY_MS,
            reported_wrong: 0.0,
        }
    }
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Identifier used in reports.
    pub name: String,
    /// One line for humans.
    pub title: String,
    /// Where the numbers come from.
    pub sources: Vec<String>,
    /// Simulated span.
    pub window_ms: u64,
    /// Seed of every draw.
    pub seed: u64,
    /// Monitor re-report period.
    pub report_every_ms: u64,
    /// Router ownership for `sosroute`.
    pub router: RouterMode,
    /// The calls.
    pub calls: Calls,
    /// Fraction of callers meeting each [`PopulationFlag`], by its index.
    pub population: [f64; 5],
    /// How PSAP text-readiness is reported.
    pub psap: Psap,
    /// Components.
    pub components: Vec<Component>,
    /// Routes, in file order.
    pub routes: Vec<Route>,
    /// Events, sorted by time, file order kept at equal times.
    pub events: Vec<Event>,
    /// Policies the `sosroute` strategy's shared router loads during the window, in time order.
    pub policy_changes: Vec<PolicyChange>,
}

/// `[[policy_change]]`: at `at_ms`, the shared router of `sosroute` loads a policy file (as an
/// operator's rollout would), which then goes on probation.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyChange {
    /// When.
    pub at_ms: u64,
    /// The file, as written (relative to the scenario's folder).
    pub path: String,
    /// The policy it holds.
    pub policy: Policy,
}

impl Scenario {
    /// Parses and validates scenario text.
    ///
    /// ```
    /// let err = sosroute::sim::Scenario::from_toml("[scenario]\nnmae = 1\n").unwrap_err();
    /// assert!(err.to_string().contains("nmae") && err.to_string().contains("line 2"));
    /// ```
    ///
    /// A `[[policy_change]]` file named by a relative path is read relative to the current
    /// directory; [`Scenario::from_toml_at`] reads it relative to the scenario's folder.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_toml_at(text, Path::new(""))
    }

    /// Parses and validates the text of a scenario file kept in `folder`: a relative
    /// `[[policy_change]] policy` path is read from there.
    pub fn from_toml_at(text: &str, folder: &Path) -> Result<Scenario, ScenarioError> {
        let file: File = toml::from_str(text).map_err(|e| parse_error(text, &e))?;
        compile(text, file, folder)
    }

    /// The index of the component called `name`.
    pub fn component_index(&self, name: &str) -> Option<usize> {
        self.components.iter().position(|c| c.name == name)
    }

    /// The index of the route of `kind`, if the scenario has one.
    pub fn route_index(&self, kind: RouteKind) -> Option<usize> {
        self.routes.iter().position(|r| r.kind == kind)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turns the TOML parser's error into one line naming the key and the line.
fn parse_error(text: &str, e: &toml::de::Error) -> ScenarioError {
    let message = e.message().trim().replace('\n', "; ");
    let line = e.span().map_or(0, |s| line_of(text, s.start));
    // An unknown, missing or duplicate key is named in backquotes; otherwise (a wrong type, a
    // bad value) the key is the one written on the offending line.
    let named = ["unknown field", "missing field", "duplicate key"]
        .iter()
        .any(|p| message.starts_with(p))
        .then(|| message.split('`').nth(1))
        .flatten();
    let written = line
        .checked_sub(1)
        .and_then(|i| text.lines().nth(i))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim());
    let key = named
        .or(written)
        .filter(|k| !k.is_empty())
        .unwrap_or("(syntax)")
        .to_owned();
    ScenarioError { line, key, message }
}

/// Validation context: the text (for line numbers).
struct Ctx<'a> {
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, key: &str, span: std::ops::Range<usize>, message: String) -> ScenarioError {
        ScenarioError {
            line: line_of(self.text, span.start),
            key: key.to_owned(),
            message,
        }
    }

    fn seconds(&self, key: &str, v: &Spanned<f64>) -> Result<u64, ScenarioError> {
        let s = *v.get_ref();
        if !s.is_finite() || s < 0.0 {
            return Err(self.err(key, v.span(), format!("{s} s: must not be negative")));
        }
        if s > MAX_SECONDS {
            return Err(self.err(key, v.span(), format!("{s} s: longer than {MAX_SECONDS} s")));
        }
        Ok((s * 1000.0).round() as u64)
    }

    fn fraction(&self, key: &str, v: &Spanned<f64>) -> Result<f64, ScenarioError> {
        let x = *v.get_ref();
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(key, v.span(), format!("{x}: must lie in [0, 1]")));
        }
        Ok(x)
    }

    fn opt_fraction(&self, key: &str, v: &Option<Spanned<f64>>) -> Result<f64, ScenarioError> {
        v.as_ref().map_or(Ok(0.0), |v| self.fraction(key, v))
    }
}

fn compile(text: &str, file: File, folder: &Path) -> Result<Scenario, ScenarioError> {
    let cx = Ctx { text };
    let s = &file.scenario;
    if s.name.get_ref().trim().is_empty() {
        return Err(cx.err("scenario.name", s.name.span(), "must not be empty".into()));
    }
    let window_ms = cx.seconds("scenario.window_s", &s.window_s)?;
    if window_ms == 0 {
        return Err(cx.err(
            "scenario.window_s",
            s.window_s.span(),
            "must be longer than 0 s".into(),
        ));
    }
    let report_every_ms = match &s.report_every_s {
        Some(v) => {
            let ms = cx.seconds("scenario.report_every_s", v)?;
            if ms == 0 {
                return Err(cx.err(
                    "scenario.report_every_s",
                    v.span(),
                    "must be longer than 0 s".into(),
                ));
            }
            ms
        }
        None => 10_000,
    };
    let router = match s.router.as_ref().map(|r| (r.get_ref().as_str(), r.span())) {
        None | Some(("per_caller", _)) => RouterMode::PerCaller,
        Some(("shared", _)) => RouterMode::Shared,
        Some((other, span)) => {
            return Err(cx.err(
                "scenario.router",
                span,
                format!("{other:?}: expected \"per_caller\" or \"shared\""),
            ))
        }
    };

    let c = &file.calls;
    let count = *c.count.get_ref();
    if !(1..=10_000_000).contains(&count) {
        return Err(cx.err(
            "calls.count",
            c.count.span(),
            format!("{count}: must be 1..=10000000"),
        ));
    }
    let arrival = match c.arrival.get_ref().as_str() {
        "uniform" => Arrival::Uniform,
        "poisson" => Arrival::Poisson,
        other => {
            return Err(cx.err(
                "calls.arrival",
                c.arrival.span(),
                format!("{other:?}: expected \"uniform\" or \"poisson\""),
            ))
        }
    };
    let calls = Calls {
        count: count as u32,
        arrival,
        patience_ms: cx.seconds("calls.patience_s", &c.patience_s)?,
        text_first: cx.opt_fraction("calls.text_first", &c.text_first)?,
    };

    let p = &file.population;
    let population = [
        cx.opt_fraction("population.dual_sim", &p.dual_sim)?,
        cx.opt_fraction("population.wifi_calling", &p.wifi_calling)?,
        cx.opt_fraction("population.sms", &p.sms)?,
        cx.opt_fraction("population.satellite", &p.satellite)?,
        cx.opt_fraction("population.psap_text_ready", &p.psap_text_ready)?,
    ];

    let psap = compile_psap(&cx, &file.psap)?;
    let components = compile_components(&cx, &file.component)?;
    let routes = compile_routes(&cx, &file.route, &components)?;
    let mut events = Vec::with_capacity(file.event.len());
    for e in &file.event {
        events.push(compile_event(&cx, e, &components)?);
    }
    // Time order; a stable sort keeps file order at equal times.
    events.sort_by_key(|e| e.at_ms);
    let mut policy_changes = Vec::with_capacity(file.policy_change.len());
    for c in &file.policy_change {
        policy_changes.push(compile_policy_change(&cx, c, window_ms, router, folder)?);
    }
    policy_changes.sort_by_key(|c| c.at_ms);

    Ok(Scenario {
        name: s.name.get_ref().clone(),
        title: s.title.clone(),
        sources: s.sources.clone(),
        window_ms,
        seed: s.seed,
        report_every_ms,
        router,
        calls,
        population,
        psap,
        components,
        routes,
        events,
        policy_changes,
    })
}

/// Reads a policy file named by a scenario: a regular file, at most one byte more than
/// [`MAX_POLICY_LEN`](crate::MAX_POLICY_LEN) read (so that the policy's own check names the
/// excess), so a scenario naming `/dev/zero` or a named pipe cannot hang or exhaust the simulator.
fn read_policy_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(crate::policy::MAX_POLICY_LEN as u64 + 1)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// Reads and validates a `[[policy_change]]`'s policy file.
fn compile_policy_change(
    cx: &Ctx<'_>,
    c: &PolicyChangeSection,
    window_ms: u64,
    router: RouterMode,
    folder: &Path,
) -> Result<PolicyChange, ScenarioError> {
    let at_ms = cx.seconds("policy_change.at_s", &c.at_s)?;
    if at_ms >= window_ms {
        return Err(cx.err(
            "policy_change.at_s",
            c.at_s.span(),
            format!("{} s: must lie inside the window", c.at_s.get_ref()),
        ));
    }
    if router != RouterMode::Shared {
        return Err(cx.err(
            "policy_change.at_s",
            c.at_s.span(),
            "needs `router = \"shared\"` under [scenario]: probation judges a policy on the \
             calls of one router, and a router per caller sees one call"
                .into(),
        ));
    }
    let path = c.policy.get_ref();
    let full = folder.join(path);
    let text = read_policy_file(&full).map_err(|e| {
        cx.err(
            "policy_change.policy",
            c.policy.span(),
            format!("{}: {e}", full.display()),
        )
    })?;
    let parsed = if full.extension().is_some_and(|x| x == "json") {
        Policy::from_json(&text)
    } else {
        Policy::from_toml(&text)
    };
    let policy = parsed.map_err(|e| {
        cx.err(
            "policy_change.policy",
            c.policy.span(),
            format!("{}: {e}", full.display()),
        )
    })?;
    Ok(PolicyChange {
        at_ms,
        path: path.clone(),
        policy,
    })
}

fn compile_psap(cx: &Ctx<'_>, p: &PsapSection) -> Result<Psap, ScenarioError> {
    let report_every_ms = match &p.report_every_s {
        Some(v) => {
            let ms = cx.seconds("psap.report_every_s", v)?;
            if ms == 0 {
                return Err(cx.err(
                    "psap.report_every_s",
                    v.span(),
                    "must be longer than 0 s".into(),
                ));
            }
            ms
        }
        None => PSAP_REPORT_EVERY_MS,
    };
    Ok(Psap {
        report_every_ms,
        reported_wrong: cx.opt_fraction("psap.reported_wrong", &p.reported_wrong)?,
    })
}

fn compile_components(
    cx: &Ctx<'_>,
    specs: &[ComponentSection],
) -> Result<Vec<Component>, ScenarioError> {
    let mut out: Vec<Component> = Vec::with_capacity(specs.len());
    for c in specs {
        let name = c.name.get_ref();
        if name.trim().is_empty() {
            return Err(cx.err("component.name", c.name.span(), "must not be empty".into()));
        }
        if out.iter().any(|o| &o.name == name) {
            return Err(cx.err(
                "component.name",
                c.name.span(),
                format!("{name:?} is declared twice"),
            ));
        }
        let kind = match c.kind.get_ref().as_str() {
            "radio" => ComponentKind::Radio,
            "service" => ComponentKind::Service,
            other => {
                return Err(cx.err(
                    "component.kind",
                    c.kind.span(),
                    format!("{other:?}: expected \"radio\" or \"service\""),
                ))
            }
        };
        out.push(Component {
            name: name.clone(),
            kind,
            line: line_of(cx.text, c.name.span().start),
        });
    }
    Ok(out)
}

fn component_ref(
    cx: &Ctx<'_>,
    key: &str,
    name: &Spanned<String>,
    components: &[Component],
) -> Result<usize, ScenarioError> {
    components
        .iter()
        .position(|c| &c.name == name.get_ref())
        .ok_or_else(|| {
            let known: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
            cx.err(
                key,
                name.span(),
                format!(
                    "unknown component {:?} (declared: {})",
                    name.get_ref(),
                    known.join(", ")
                ),
            )
        })
}

fn compile_routes(
    cx: &Ctx<'_>,
    specs: &[RouteSection],
    components: &[Component],
) -> Result<Vec<Route>, ScenarioError> {
    let mut out: Vec<Route> = Vec::with_capacity(specs.len());
    for r in specs {
        let kind = RouteKind::ALL
            .into_iter()
            .filter(|k| *k != RouteKind::Custom)
            .find(|k| k.name() == r.kind.get_ref())
            .ok_or_else(|| {
                cx.err(
                    "route.kind",
                    r.kind.span(),
                    format!(
                        "unknown route kind {:?} (expected home_cellular, cross_sim, \
                         other_network, wifi_calling, text or satellite)",
                        r.kind.get_ref()
                    ),
                )
            })?;
        if out.iter().any(|o| o.kind == kind) {
            return Err(cx.err(
                "route.kind",
                r.kind.span(),
                format!("a route of kind {:?} is declared twice", kind.name()),
            ));
        }
        let mut needs = Vec::with_capacity(r.needs.len());
        for n in &r.needs {
            needs.push(component_ref(cx, "route.needs", n, components)?);
        }
        let mut requires = Vec::with_capacity(r.requires.len());
        for q in &r.requires {
            let flag = PopulationFlag::from_name(q.get_ref()).ok_or_else(|| {
                cx.err(
                    "route.requires",
                    q.span(),
                    format!(
                        "{:?} is not a [population] field (dual_sim, wifi_calling, sms, \
                         satellite, psap_text_ready)",
                        q.get_ref()
                    ),
                )
            })?;
            requires.push(flag);
        }
        out.push(Route {
            kind,
            needs,
            requires,
            setup_ms: cx.seconds("route.setup_s", &r.setup_s)?,
        });
    }
    Ok(out)
}

fn compile_event(
    cx: &Ctx<'_>,
    e: &EventSection,
    components: &[Component],
) -> Result<Event, ScenarioError> {
    let component = component_ref(cx, "event.component", &e.component, components)?;
    let kind = components[component].kind;
    let share = cx.fraction("event.share", &e.share)?;
    let share_from = match &e.share_from {
        Some(v) => {
            let from = cx.fraction("event.share_from", v)?;
            if from > share {
                return Err(cx.err(
                    "event.share_from",
                    v.span(),
                    format!("{from} is above share = {share}"),
                ));
            }
            from
        }
        None => 0.0,
    };
    let fails_by = match &e.fails_by {
        None => None,
        Some(f) => Some(match f.get_ref().as_str() {
            "no_signal" => FailsBy::NoSignal,
            "reject" => FailsBy::Reject,
            "timeout" => FailsBy::Timeout,
            other => {
                return Err(cx.err(
                    "event.fails_by",
                    f.span(),
                    format!("{other:?}: expected \"no_signal\", \"reject\" or \"timeout\""),
                ))
            }
        }),
    };
    let reject_ms = e
        .reject_s
        .as_ref()
        .map(|v| cx.seconds("event.reject_s", v))
        .transpose()?;
    if let (Some(FailsBy::Reject), None, Some(f)) = (fails_by, reject_ms, &e.fails_by) {
        return Err(cx.err(
            "event.reject_s",
            f.span(),
            "fails_by = \"reject\" needs reject_s (seconds until the refusal)".into(),
        ));
    }
    let observed = e
        .observed
        .as_ref()
        .map(|o| observed_value(cx, o, kind))
        .transpose()?;
    let observed_after_ms = e
        .observed_after_s
        .as_ref()
        .map(|v| cx.seconds("event.observed_after_s", v))
        .transpose()?
        .unwrap_or(0);
    let monitor_live = match &e.monitor {
        None => None,
        Some(m) => Some(match m.get_ref().as_str() {
            "live" => true,
            "frozen" => false,
            other => {
                return Err(cx.err(
                    "event.monitor",
                    m.span(),
                    format!("{other:?}: expected \"live\" or \"frozen\""),
                ))
            }
        }),
    };
    Ok(Event {
        at_ms: cx.seconds("event.at_s", &e.at_s)?,
        component,
        works: e.works,
        fails_by,
        reject_ms,
        observed,
        observed_after_ms,
        share_from,
        share,
        monitor_live,
    })
}

fn observed_value(
    cx: &Ctx<'_>,
    v: &Spanned<String>,
    kind: ComponentKind,
) -> Result<Observed, ScenarioError> {
    let value = match (kind, v.get_ref().as_str()) {
        (ComponentKind::Radio, "in_service") => Observed::Radio(RadioState::InService),
        (ComponentKind::Radio, "limited_service") => Observed::Radio(RadioState::LimitedService),
        (ComponentKind::Radio, "no_service") => Observed::Radio(RadioState::NoService),
        (ComponentKind::Radio, "unknown") => Observed::Radio(RadioState::Unknown),
        (ComponentKind::Service, "up") => Observed::Service(ServiceState::Up),
        (ComponentKind::Service, "down") => Observed::Service(ServiceState::Down),
        (ComponentKind::Service, "unknown") => Observed::Service(ServiceState::Unknown),
        (ComponentKind::Radio, other) => {
            return Err(cx.err(
                "event.observed",
                v.span(),
                format!(
                    "{other:?} for a radio component: expected \"in_service\", \
                     \"limited_service\", \"no_service\" or \"unknown\""
                ),
            ))
        }
        (ComponentKind::Service, other) => {
            return Err(cx.err(
                "event.observed",
                v.span(),
                format!(
                    "{other:?} for a service component: expected \"up\", \"down\" or \"unknown\""
                ),
            ))
        }
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[scenario]
name = "t"
window_s = 100
seed = 1
[calls]
count = 10
arrival = "uniform"
patience_s = 90
[[component]]
name = "home_ran"
kind = "radio"
[[route]]
kind = "home_cellular"
needs = ["home_ran"]
setup_s = 3
"#;

    #[test]
    fn minimal_parses() {
        let s = Scenario::from_toml(MINIMAL).unwrap();
        assert_eq!(s.report_every_ms, 10_000);
        assert_eq!(s.routes[0].setup_ms, 3_000);
    }

    #[test]
    fn psap_section_is_optional_and_checked() {
        let s = Scenario::from_toml(MINIMAL).unwrap();
        assert_eq!(s.psap, Psap::default());
        let with = format!("{MINIMAL}[psap]\nreport_every_s = 60\nreported_wrong = 0.25\n");
        let s = Scenario::from_toml(&with).unwrap();
        assert_eq!(
            (s.psap.report_every_ms, s.psap.reported_wrong),
            (60_000, 0.25)
        );
        let bad = format!("{MINIMAL}[psap]\nreport_every_s = 0\n");
        let e = Scenario::from_toml(&bad).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("psap.report_every_s", 18), "{e}");
        let bad = format!("{MINIMAL}[psap]\nreported_wrong = 2\n");
        let e = Scenario::from_toml(&bad).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("psap.reported_wrong", 18), "{e}");
        let bad = format!("{MINIMAL}[psap]\nreport_every = 5\n");
        let e = Scenario::from_toml(&bad).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("report_every", 18), "{e}");
    }

    #[test]
    fn errors_name_key_and_line() {
        let bad = format!("{MINIMAL}[[event]]\nat_s = 1\ncomponent = \"home_ran\"\nshare = 1.5\n");
        let e = Scenario::from_toml(&bad).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("event.share", 20), "{e}");
        let bad = format!("{MINIMAL}[[event]]\nat_s = -1\ncomponent = \"home_ran\"\nshare = 1\n");
        let e = Scenario::from_toml(&bad).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("event.at_s", 18), "{e}");
        let bad = MINIMAL.replace("setup_s = 3", "setup_s = 3\nbogus = 1");
        let e = Scenario::from_toml(&bad).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("bogus", 17), "{e}");
    }
}
