//! Reachability state: the latest fact of each kind per component and per PSAP, and the outcome
//! history (breakers) per component and per route.
//!
//! A [`Snapshot`] is plain data in fixed tables: copying one never allocates, and the planner reads
//! it without locks. Updates are applied to a private copy that is published only when the whole
//! batch was valid (see `Router`), so a rejected batch changes nothing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::observation::{
    ComponentId, Fact, FactClass, FactKind, Observation, Outcome, PsapId, PsapState, RadioState,
    RejectCause, ServiceState, Subject,
};
use crate::policy::{ComponentKind, ComponentSet, Policy, MAX_COMPONENTS};
use crate::route::{RouteId, RouteSet, MAX_ROUTES};

/// Most PSAPs whose facts are kept; past it the least recently updated one is forgotten.
pub const MAX_PSAPS: usize = 32;

/// One change to the state: an observation, or the outcome of an attempt made outside a
/// `CallSession` (another process, another handset in a fleet feed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Update {
    /// A monitor's observation.
    Observe(Observation),
    /// How an attempt on a route ended.
    Outcome {
        /// The route attempted.
        route: RouteId,
        /// How it ended.
        outcome: Outcome,
        /// When it ended.
        at_ms: u64,
    },
}

impl Update {
    /// When it happened.
    pub fn at_ms(&self) -> u64 {
        match *self {
            Update::Observe(o) => o.at_ms,
            Update::Outcome { at_ms, .. } => at_ms,
        }
    }
}

/// Most updates one batch may hold, from Rust ([`crate::Router::apply`]), C (`SOS_MAX_BATCH`) or
/// the wire format ([`crate::wire::MAX_RECORDS`]): a batch is applied while the writer lock is
/// held, so its size bounds how long other writers wait. Larger feeds are split into batches.
pub const MAX_BATCH: usize = 4096;

/// An update batch that was rejected; the state is as it was before the batch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// An observation names a component the policy in force does not declare.
    #[error("update {index}: component {component} is not declared by the policy in force ({count} components)")]
    UnknownComponent {
        /// Position in the batch.
        index: usize,
        /// The id given.
        component: u16,
        /// Components the policy declares.
        count: usize,
    },
    /// An outcome names a route the policy in force does not declare.
    #[error("update {index}: route id {route} is not declared by the policy in force")]
    UnknownRoute {
        /// Position in the batch.
        index: usize,
        /// The id given.
        route: u16,
    },
    /// A fact that the subject cannot have (a radio state for a service component, ...).
    #[error("update {index}: a {fact} fact does not apply to {subject}")]
    FactMismatch {
        /// Position in the batch.
        index: usize,
        /// The fact's name.
        fact: &'static str,
        /// What it was sent to.
        subject: String,
    },
    /// A PSAP fact for PSAP id 0, which means "not known".
    #[error("update {index}: PSAP id 0 means \"not known\" and cannot carry facts")]
    UnknownPsap {
        /// Position in the batch.
        index: usize,
    },
    /// A signal level above the scale.
    #[error("update {index}: signal level {level} is above {max} bars (255 = not reported)")]
    SignalOutOfRange {
        /// Position in the batch.
        index: usize,
        /// The level given.
        level: u8,
        /// The top of the scale.
        max: u8,
    },
    /// More updates in one batch than [`MAX_BATCH`].
    #[error("update {index}: a batch holds at most {max} updates; split larger feeds")]
    BatchTooLarge {
        /// Position in the batch of the first update over the limit.
        index: usize,
        /// [`MAX_BATCH`].
        max: usize,
    },
}

/// How much a piece of state says for or against a route working, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum Evidence {
    /// Fresh evidence that it works.
    Positive = 1,
    /// Nothing fresh either way.
    Unknown = 2,
    /// Fresh evidence against it, a recent recovery still in hold-down, or an open breaker.
    Negative = 3,
}

impl Evidence {
    /// All classes, best first.
    pub(crate) const ALL: [Evidence; 3] =
        [Evidence::Positive, Evidence::Unknown, Evidence::Negative];
}

/// Breaker state of a route or component, derived from its outcome history and `now`. Ordered
/// from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum Breaker {
    /// Fewer consecutive failures than the threshold.
    Closed = 1,
    /// Cool-down over: ranked by its observed evidence again, on the route's full timer, so the
    /// next call tries it and can succeed; a success closes the breaker, a failure re-opens it
    /// for twice the previous cool-down (at most eight cool-downs).
    HalfOpen = 2,
    /// Threshold reached less than the cool-down ago: demoted, shorter timer.
    Open = 3,
}

/// Outcome history of one route or component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// Failures since the last success.
    pub consecutive_failures: u16,
    /// Whether the breaker is tripped: `failure_threshold` failures in a row, the last of them
    /// at least a cool-down after the last success. A route that keeps connecting for some
    /// callers is never tripped by the refusals of others.
    pub tripped: bool,
    /// When the breaker last (re)opened.
    pub opened_at_ms: u64,
    /// Trials failed since the breaker tripped (0 while closed): each doubles the cool-down
    /// before the next. Not counted while the route connected within the learning window: it
    /// works for some callers, and they keep trying it.
    #[serde(default)]
    pub failed_trials: u16,
    /// When the last failure was reported.
    pub last_failure_ms: u64,
    /// Whether a success was ever reported.
    pub succeeded: bool,
    /// When the last success was reported (with `succeeded`). Not an `Option`: the tables are
    /// copied whole, and the payload of a `None` would be uninitialised memory to a C host's
    /// valgrind.
    pub last_success_ms: u64,
    /// Routes only: the setup time of the slowest success in the learning window (0: none).
    pub setup_need_ms: u64,
    /// When the success that set `setup_need_ms` was reported.
    pub setup_need_at_ms: u64,
}

/// What a call session knows of an attempt beyond how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// From the attempt's start to its end.
    pub(crate) took_ms: u64,
    /// The setup timer it ran under.
    pub(crate) timer_ms: u64,
}

impl Health {
    fn record(&mut self, connected: bool, at_ms: u64, policy: &Policy) {
        if connected {
            self.consecutive_failures = 0;
            self.tripped = false;
            self.failed_trials = 0;
            self.last_success_ms = if self.succeeded {
                self.last_success_ms.max(at_ms)
            } else {
                at_ms
            };
            self.succeeded = true;
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.last_failure_ms = self.last_failure_ms.max(at_ms);
            let last_success = self.last_success();
            let succeeded_within =
                |ms: u64| last_success.is_some_and(|t| at_ms < t.saturating_add(ms));
            if self.consecutive_failures >= policy.failure_threshold
                && !succeeded_within(policy.cool_down_ms)
            {
                if self.tripped
                    && at_ms >= self.open_until_ms(policy)
                    && !succeeded_within(policy.learn_window_ms)
                {
                    self.failed_trials = self.failed_trials.saturating_add(1);
                }
                self.tripped = true;
                self.opened_at_ms = self.opened_at_ms.max(at_ms);
            }
        }
    }

    /// When the breaker, if tripped, lets a trial through: the cool-down after it opened,
    /// doubled for each trial failed since it tripped (at most eight cool-downs).
    fn open_until_ms(&self, policy: &Policy) -> u64 {
        let cool_down = policy.cool_down_ms << self.failed_trials.min(3);
        self.opened_at_ms.saturating_add(cool_down)
    }

    /// When the last success was reported, if ever.
    pub fn last_success(&self) -> Option<u64> {
        self.succeeded.then_some(self.last_success_ms)
    }

    /// Learns from a success that took `took_ms` to set up at `at_ms`: the slowest success of
    /// the learning window stands until the window has passed since it.
    fn learn(&mut self, took_ms: u64, at_ms: u64, policy: &Policy) {
        let expired = at_ms >= self.setup_need_at_ms.saturating_add(policy.learn_window_ms);
        if took_ms >= self.setup_need_ms || expired {
            self.setup_need_ms = took_ms;
            self.setup_need_at_ms = at_ms;
        }
    }

    /// The setup time recent successes needed at `now_ms` (0: none known).
    pub fn setup_need_ms(&self, policy: &Policy, now_ms: u64) -> u64 {
        let until = self.setup_need_at_ms.saturating_add(policy.learn_window_ms);
        if now_ms < until {
            self.setup_need_ms
        } else {
            0
        }
    }

    /// The breaker state at `now_ms` under `policy`.
    pub fn breaker(&self, policy: &Policy, now_ms: u64) -> Breaker {
        self.view(policy).breaker(now_ms)
    }
}

/// A fact with the time it was observed, and when the slot last stopped being negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stamped {
    /// The fact.
    pub fact: Fact,
    /// When it was observed.
    pub at_ms: u64,
    /// When negative evidence in this slot last ended (0: never), for the hold-down.
    pub negative_until_ms: u64,
}

/// What one fact says about its component: `Some(Positive)`, `Some(Negative)`, or nothing.
/// A registered E911 address or an absent outage notice is not evidence that a route works.
fn verdict(fact: &Fact) -> Option<Evidence> {
    use Evidence::{Negative, Positive};
    match *fact {
        Fact::Radio { state, .. } => match state {
            RadioState::InService => Some(Positive),
            RadioState::LimitedService | RadioState::NoService => Some(Negative),
            RadioState::Unknown => None,
        },
        Fact::Service { state } => match state {
            ServiceState::Up => Some(Positive),
            ServiceState::Down => Some(Negative),
            ServiceState::Unknown => None,
        },
        Fact::Probe { ok, .. } => Some(if ok { Positive } else { Negative }),
        Fact::Link { connected } => Some(if connected { Positive } else { Negative }),
        Fact::E911Address { registered } => (!registered).then_some(Negative),
        Fact::Outage { active } => active.then_some(Negative),
        Fact::Psap { .. } | Fact::PsapTextReady { .. } => None,
    }
}

/// Observed facts and outcome history of one component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ComponentState {
    slots: [Option<Stamped>; FactKind::COMPONENT_SLOTS],
    /// Outcome history of attempts through the component.
    pub health: Health,
}

impl ComponentState {
    /// The latest fact of the kind of `like`, fresh or not.
    pub fn latest(&self, like: &Fact) -> Option<Stamped> {
        self.slots[like.kind().slot()]
    }

    /// What the observed facts say at `now_ms`: negative if any fresh fact is negative or a
    /// negative fact ended less than the hold-down ago; else positive if any fresh fact is
    /// positive; else unknown.
    pub fn observed(&self, policy: &Policy, now_ms: u64) -> Evidence {
        self.view(policy).observed(now_ms)
    }

    fn observe(&mut self, fact: Fact, at_ms: u64, ttl_ms: u64) {
        let slot = &mut self.slots[fact.kind().slot()];
        let negative_until_ms = match *slot {
            // Out of order: the newer fact stands.
            Some(old) if old.at_ms > at_ms => return,
            Some(old) if verdict(&old.fact) == Some(Evidence::Negative) => {
                // Negative until this observation, or until it went stale, whichever came first.
                at_ms.min(old.at_ms.saturating_add(ttl_ms))
            }
            Some(old) => old.negative_until_ms,
            None => 0,
        };
        *slot = Some(Stamped {
            fact,
            at_ms,
            negative_until_ms,
        });
    }
}

/// What the state of a component, or of a route with its components, says at any time under
/// one policy, reduced to a few instants: the observed evidence is negative before
/// `negative_until_ms`, else positive before `positive_until_ms`, else unknown; of that negative
/// window, a fresh report says down before `reported_down_until_ms` (the rest is the hold-down
/// after a recovery); the breaker, if tripped, is open before `open_until_ms`.
///
/// The one definition of evidence and breakers: [`ComponentState::observed`] and
/// [`Health::breaker`] read a view made on the spot; the router computes views when the state
/// changes (see [`Views`]), so a decision reads a few words per route instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct View {
    negative_until_ms: u64,
    reported_down_until_ms: u64,
    positive_until_ms: u64,
    tripped: bool,
    /// When the breaker, if tripped, opened.
    opened_at_ms: u64,
    open_until_ms: u64,
}

impl View {
    /// [`ComponentState::observed`] at `now_ms`; for a route, the worst over its components.
    pub(crate) fn observed(&self, now_ms: u64) -> Evidence {
        if now_ms < self.negative_until_ms {
            Evidence::Negative
        } else if now_ms < self.positive_until_ms {
            Evidence::Positive
        } else {
            Evidence::Unknown
        }
    }

    /// [`Health::breaker`] at `now_ms`; for a route, the worst over it and its components.
    pub(crate) fn breaker(&self, now_ms: u64) -> Breaker {
        if !self.tripped {
            Breaker::Closed
        } else if now_ms < self.open_until_ms {
            Breaker::Open
        } else {
            Breaker::HalfOpen
        }
    }

    /// The view of something that works only if both do: at any time its evidence and its
    /// breaker are the worse of the two. Negative while either is negative, positive while both
    /// are positive; open while either breaker is open, half-open while either is tripped.
    fn and(self, other: View) -> View {
        let open_until = |v: View| if v.tripped { v.open_until_ms } else { 0 };
        let opened_at = |v: View| if v.tripped { v.opened_at_ms } else { 0 };
        View {
            negative_until_ms: self.negative_until_ms.max(other.negative_until_ms),
            reported_down_until_ms: self
                .reported_down_until_ms
                .max(other.reported_down_until_ms),
            positive_until_ms: self.positive_until_ms.min(other.positive_until_ms),
            tripped: self.tripped || other.tripped,
            opened_at_ms: opened_at(self).max(opened_at(other)),
            open_until_ms: open_until(self).max(open_until(other)),
        }
    }
}

impl Health {
    /// This history as a [`View`] with no observed evidence of its own (positive for ever, so
    /// that combined with components only theirs counts).
    fn view(&self, policy: &Policy) -> View {
        View {
            negative_until_ms: 0,
            reported_down_until_ms: 0,
            positive_until_ms: u64::MAX,
            tripped: self.tripped,
            opened_at_ms: self.opened_at_ms,
            open_until_ms: self.open_until_ms(policy),
        }
    }
}

impl ComponentState {
    /// This component's [`View`] under `policy`.
    fn view(&self, policy: &Policy) -> View {
        // Each slot makes the component negative over a window that starts in the past, and a
        // positive slot makes it positive until its fact goes stale; `observed` answers
        // negative if any window covers `now`, so only the latest end of each matters.
        let hold_down = policy.hold_down_ms;
        let (mut negative_until_ms, mut reported_down_until_ms, mut positive_until_ms) = (0, 0, 0);
        for s in self.slots.iter().flatten() {
            let stale_at = s.at_ms.saturating_add(policy.ttl_ms(s.fact.class()));
            let v = verdict(&s.fact);
            // A negative fact: negative while fresh, then for the hold-down (`observed` skips
            // the hold-down when it ended at 0, and then it was never fresh either). Any other
            // fact: the hold-down after the negative one it replaced, if there was one.
            let ended = match v {
                Some(Evidence::Negative) => stale_at,
                _ => s.negative_until_ms,
            };
            if ended != 0 {
                negative_until_ms = negative_until_ms.max(ended.saturating_add(hold_down));
            }
            match v {
                Some(Evidence::Negative) => {
                    reported_down_until_ms = reported_down_until_ms.max(stale_at);
                }
                Some(Evidence::Positive) => positive_until_ms = positive_until_ms.max(stale_at),
                _ => {}
            }
        }
        View {
            negative_until_ms,
            reported_down_until_ms,
            positive_until_ms,
            ..self.health.view(policy)
        }
    }
}

/// What a route's state says at any time: the [`View`] of the route with its components, its
/// own breaker, which component sets each instant of that view, for the blame, and what its
/// successes taught.
///
/// The policy's component graph is a prior, not a verdict: a success on a route closes the
/// breakers of all its components (see [`Snapshot::record_outcome`]), so a component blamed by
/// another route's failures does not hold back a route that has connected since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RouteView {
    view: View,
    own: View,
    /// Whether, and when, the route itself last connected.
    succeeded: bool,
    succeeded_at_ms: u64,
    /// The setup time of its slowest recent success, until `need_until_ms`.
    need_ms: u64,
    need_until_ms: u64,
    /// The component negative the longest (latest `negative_until_ms`).
    negative_by: Option<ComponentId>,
    /// The component whose positive evidence goes stale first (earliest `positive_until_ms`).
    stale_by: Option<ComponentId>,
    /// Of the components with a tripped breaker, the one open the longest.
    opened_by: Option<ComponentId>,
}

impl RouteView {
    /// The view of a route with history `health` that needs `needs`, whose views are
    /// `components`. Ties go to the lowest component id.
    fn new(
        health: &Health,
        policy: &Policy,
        needs: ComponentSet,
        components: &[View; MAX_COMPONENTS],
    ) -> RouteView {
        let own = health.view(policy);
        let need_until_ms = health
            .setup_need_at_ms
            .saturating_add(policy.learn_window_ms);
        let mut route = RouteView {
            view: own,
            own,
            succeeded: health.succeeded,
            succeeded_at_ms: health.last_success_ms,
            need_ms: health.setup_need_ms,
            need_until_ms,
            negative_by: None,
            stale_by: None,
            opened_by: None,
        };
        if needs.is_empty() {
            // Nothing to observe: never positive (nor negative) evidence.
            route.view.positive_until_ms = 0;
            return route;
        }
        let (mut negative_until, mut positive_until, mut open_until) = (0, u64::MAX, 0);
        for c in needs.iter() {
            let v = components[c.0 as usize % MAX_COMPONENTS];
            if route.negative_by.is_none() || v.negative_until_ms > negative_until {
                (route.negative_by, negative_until) = (Some(c), v.negative_until_ms);
            }
            if route.stale_by.is_none() || v.positive_until_ms < positive_until {
                (route.stale_by, positive_until) = (Some(c), v.positive_until_ms);
            }
            if v.tripped && (route.opened_by.is_none() || v.open_until_ms > open_until) {
                (route.opened_by, open_until) = (Some(c), v.open_until_ms);
            }
            route.view = route.view.and(v);
        }
        route
    }

    /// Narrows `window`, a time window around `at_ms`, to the times at which this route's
    /// observed evidence, breaker and blame are what they are at `at_ms`: it drops every instant
    /// at which one of them changes.
    pub(crate) fn narrow(&self, at_ms: u64, window: &mut (u64, u64)) {
        let opened = |v: &View| if v.tripped { v.open_until_ms } else { 0 };
        let changes = [
            self.view.negative_until_ms,
            self.view.reported_down_until_ms,
            self.view.positive_until_ms,
            opened(&self.view),
            opened(&self.own),
            self.need_until_ms,
        ];
        for t in changes {
            if t <= at_ms {
                window.0 = window.0.max(t);
            } else {
                window.1 = window.1.min(t);
            }
        }
    }

    /// The route's observed evidence at `now_ms`: the worst over its components.
    pub(crate) fn observed(&self, now_ms: u64) -> Evidence {
        self.view.observed(now_ms)
    }

    /// Whether a fresh report at `now_ms` says one of the route's components is down (its
    /// observed evidence is negative, and not only for the hold-down after a recovery).
    pub(crate) fn reported_down(&self, now_ms: u64) -> bool {
        now_ms < self.view.reported_down_until_ms
    }

    /// The route's breaker at `now_ms`: the worst over it and its components.
    pub(crate) fn breaker(&self, now_ms: u64) -> Breaker {
        self.view.breaker(now_ms)
    }

    /// The route's own breaker at `now_ms` (its own attempts, not its components').
    pub(crate) fn own_breaker(&self, now_ms: u64) -> Breaker {
        self.own.breaker(now_ms)
    }

    /// The setup time the route's recent successes needed at `now_ms` (0: none known).
    pub(crate) fn setup_need_ms(&self, now_ms: u64) -> u64 {
        if now_ms < self.need_until_ms {
            self.need_ms
        } else {
            0
        }
    }

    /// Whether the route itself connected at or after `since_ms`.
    pub(crate) fn succeeded_since(&self, since_ms: u64) -> bool {
        self.succeeded && self.succeeded_at_ms >= since_ms
    }

    /// The component that holds the route back at `now_ms`, given its `observed` evidence and
    /// `breaker` there: if a component's breaker is worse than the route's own, the component
    /// open the longest; else, if the route is negative, the component negative the longest;
    /// else, if it is unknown, the component whose positive evidence went stale first. `None`
    /// for a verified route with closed breakers, and where only the route's own breaker or
    /// nothing at all (no components) is against it.
    pub(crate) fn blamed(
        &self,
        observed: Evidence,
        breaker: Breaker,
        now_ms: u64,
    ) -> Option<ComponentId> {
        if breaker != Breaker::Closed && breaker > self.own.breaker(now_ms) {
            return self.opened_by;
        }
        match observed {
            Evidence::Positive => None,
            Evidence::Unknown => self.stale_by,
            Evidence::Negative => self.negative_by,
        }
    }
}

/// The [`View`] of every component and the [`RouteView`] of every route of one policy over one
/// snapshot: what a decision reads. Entries past the policy's components and routes are unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Views {
    components: [View; MAX_COMPONENTS],
    routes: [RouteView; MAX_ROUTES],
}

impl Views {
    /// The views of `snapshot` under `policy`.
    pub(crate) fn new(snapshot: &Snapshot, policy: &Policy) -> Views {
        let mut views = Views {
            components: [View::default(); MAX_COMPONENTS],
            routes: [RouteView::default(); MAX_ROUTES],
        };
        views.refresh(snapshot, policy, ComponentSet(u32::MAX), RouteSet::ALL);
        views
    }

    /// Recomputes, from `snapshot`, the views of the components in `components`, and of the
    /// routes in `routes` or needing one of those components.
    pub(crate) fn refresh(
        &mut self,
        snapshot: &Snapshot,
        policy: &Policy,
        components: ComponentSet,
        routes: RouteSet,
    ) {
        for c in components
            .iter()
            .take_while(|c| (c.0 as usize) < policy.components().len())
        {
            self.components[c.0 as usize] = snapshot.component(c).view(policy);
        }
        for (index, route) in policy.routes().iter().enumerate() {
            if routes.contains(index) || route.needs.intersects(components) {
                let health = snapshot.route_health(index);
                self.routes[index] = RouteView::new(health, policy, route.needs, &self.components);
            }
        }
    }

    /// The views of `other` (made under `policy`), copying only what the policy uses.
    pub(crate) fn copy_from(&mut self, other: &Views, policy: &Policy) {
        let (components, routes) = (policy.components().len(), policy.routes().len());
        self.components[..components].copy_from_slice(&other.components[..components]);
        self.routes[..routes].copy_from_slice(&other.routes[..routes]);
    }

    /// The view of the route at policy index `index`.
    pub(crate) fn route(&self, index: usize) -> &RouteView {
        &self.routes[index % MAX_ROUTES]
    }
}

/// Facts about one PSAP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PsapFacts {
    /// The PSAP.
    pub id: PsapId,
    /// Latest i3 state, with the time observed.
    pub state: Option<(PsapState, u64)>,
    /// Latest text-readiness, with the time observed.
    pub text_ready: Option<(bool, u64)>,
    updated_ms: u64,
}

/// An immutable view of the whole reachability state.
///
/// Serialised (in audit checkpoints) as its tables up to their last entry that is not a
/// default one, so an empty slot costs nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SnapshotRepr", try_from = "SnapshotRepr")]
pub struct Snapshot {
    /// Incremented by every applied batch.
    pub epoch: u64,
    components: [ComponentState; MAX_COMPONENTS],
    routes: [Health; MAX_ROUTES],
    psaps: [PsapFacts; MAX_PSAPS],
    psap_count: usize,
}

/// A [`Snapshot`] as serialised: its tables without their trailing default entries.
#[derive(Serialize, Deserialize)]
struct SnapshotRepr {
    epoch: u64,
    components: Vec<ComponentState>,
    routes: Vec<Health>,
    psaps: Vec<PsapFacts>,
}

/// `table` up to its last entry that is not a default one.
fn used<T: Copy + Default + PartialEq>(table: &[T]) -> Vec<T> {
    let end = table
        .iter()
        .rposition(|e| *e != T::default())
        .map_or(0, |i| i + 1);
    table[..end].to_vec()
}

/// Fills `table` from `entries`, refusing more than it holds.
fn fill_table<T: Copy>(table: &mut [T], entries: &[T], name: &str) -> Result<(), String> {
    if entries.len() > table.len() {
        return Err(format!(
            "{} {name} entries, at most {} fit",
            entries.len(),
            table.len()
        ));
    }
    table[..entries.len()].copy_from_slice(entries);
    Ok(())
}

impl From<Snapshot> for SnapshotRepr {
    fn from(s: Snapshot) -> SnapshotRepr {
        SnapshotRepr {
            epoch: s.epoch,
            components: used(&s.components),
            routes: used(&s.routes),
            psaps: s.psaps[..s.psap_count].to_vec(),
        }
    }
}

impl TryFrom<SnapshotRepr> for Snapshot {
    type Error = String;

    fn try_from(r: SnapshotRepr) -> Result<Snapshot, String> {
        let mut s = Snapshot {
            epoch: r.epoch,
            psap_count: r.psaps.len(),
            ..Snapshot::default()
        };
        fill_table(&mut s.components, &r.components, "component")?;
        fill_table(&mut s.routes, &r.routes, "route")?;
        fill_table(&mut s.psaps, &r.psaps, "PSAP")?;
        Ok(s)
    }
}

impl Default for Snapshot {
    fn default() -> Snapshot {
        Snapshot {
            epoch: 0,
            components: [ComponentState::default(); MAX_COMPONENTS],
            routes: [Health::default(); MAX_ROUTES],
            psaps: [PsapFacts::default(); MAX_PSAPS],
            psap_count: 0,
        }
    }
}

impl Snapshot {
    /// State of the component `id`.
    pub fn component(&self, id: ComponentId) -> &ComponentState {
        &self.components[id.0 as usize % MAX_COMPONENTS]
    }

    /// Outcome history of the route at policy index `index`.
    pub fn route_health(&self, index: usize) -> &Health {
        &self.routes[index % MAX_ROUTES]
    }

    /// Facts about `psap`, if any were observed.
    pub fn psap(&self, psap: PsapId) -> Option<&PsapFacts> {
        self.psaps[..self.psap_count].iter().find(|p| p.id == psap)
    }

    /// Whether `psap` is known, from a fresh observation, to accept text.
    pub fn psap_text_ready(&self, psap: PsapId, policy: &Policy, now_ms: u64) -> bool {
        let ttl = policy.ttl_ms(FactClass::Advisory);
        matches!(self.psap(psap).and_then(|p| p.text_ready),
            Some((true, at)) if now_ms < at.saturating_add(ttl))
    }

    /// Fresh i3 state of `psap`, if known.
    pub fn psap_state(&self, psap: PsapId, policy: &Policy, now_ms: u64) -> Option<PsapState> {
        let ttl = policy.ttl_ms(FactClass::Advisory);
        match self.psap(psap).and_then(|p| p.state) {
            Some((s, at)) if now_ms < at.saturating_add(ttl) => Some(s),
            _ => None,
        }
    }

    /// Applies one update, checking it against `policy`. On error this snapshot may be partly
    /// changed: callers apply batches to a private copy and drop it on error.
    pub(crate) fn apply(
        &mut self,
        update: &Update,
        index: usize,
        policy: &Policy,
    ) -> Result<(), UpdateError> {
        match *update {
            Update::Observe(obs) => self.observe(&obs, index, policy),
            Update::Outcome {
                route,
                outcome,
                at_ms,
            } => {
                let r = policy.route_index(route).ok_or(UpdateError::UnknownRoute {
                    index,
                    route: route.0,
                })?;
                self.record_outcome(r, outcome, at_ms, policy);
                Ok(())
            }
        }
    }

    fn observe(
        &mut self,
        obs: &Observation,
        index: usize,
        policy: &Policy,
    ) -> Result<(), UpdateError> {
        let mismatch = |subject: String| UpdateError::FactMismatch {
            index,
            fact: obs.fact.name(),
            subject,
        };
        if let Fact::Radio { signal, .. } = obs.fact {
            if signal.0 > crate::observation::SignalLevel::MAX_BARS && signal.0 != u8::MAX {
                return Err(UpdateError::SignalOutOfRange {
                    index,
                    level: signal.0,
                    max: crate::observation::SignalLevel::MAX_BARS,
                });
            }
        }
        match obs.subject {
            Subject::Component(id) => {
                let c = policy.component(id).ok_or(UpdateError::UnknownComponent {
                    index,
                    component: id.0,
                    count: policy.components().len(),
                })?;
                let radio = c.kind == ComponentKind::Radio;
                if !obs.fact.fits_radio(radio) {
                    let kind = if radio { "radio" } else { "service" };
                    return Err(mismatch(format!("{kind} component {}", c.name)));
                }
                let ttl = policy.ttl_ms(obs.fact.class());
                self.components[id.0 as usize].observe(obs.fact, obs.at_ms, ttl);
                Ok(())
            }
            Subject::Psap(psap) => {
                if !obs.fact.is_psap_fact() {
                    return Err(mismatch(format!("PSAP {}", psap.0)));
                }
                if psap.0 == 0 {
                    return Err(UpdateError::UnknownPsap { index });
                }
                let entry = self.psap_entry(psap);
                match obs.fact {
                    Fact::Psap { state } if entry.state.is_none_or(|(_, at)| at <= obs.at_ms) => {
                        entry.state = Some((state, obs.at_ms));
                    }
                    Fact::PsapTextReady { ready }
                        if entry.text_ready.is_none_or(|(_, at)| at <= obs.at_ms) =>
                    {
                        entry.text_ready = Some((ready, obs.at_ms));
                    }
                    _ => {}
                }
                entry.updated_ms = entry.updated_ms.max(obs.at_ms);
                Ok(())
            }
        }
    }

    /// The entry for `psap`, made (forgetting the least recently updated PSAP if full).
    fn psap_entry(&mut self, psap: PsapId) -> &mut PsapFacts {
        let n = self.psap_count;
        let i = match self.psaps[..n].iter().position(|p| p.id == psap) {
            Some(i) => i,
            None if n < MAX_PSAPS => {
                self.psap_count += 1;
                n
            }
            None => (0..n)
                .min_by_key(|&i| (self.psaps[i].updated_ms, i))
                .unwrap_or(0),
        };
        if self.psaps[i].id != psap {
            self.psaps[i] = PsapFacts {
                id: psap,
                ..PsapFacts::default()
            };
        }
        &mut self.psaps[i]
    }

    /// Feeds an outcome on the route at policy index `route` into its breaker and, by the blame
    /// rule of [`blamed_components`], into its components' breakers.
    pub(crate) fn record_outcome(
        &mut self,
        route: usize,
        outcome: Outcome,
        at_ms: u64,
        policy: &Policy,
    ) {
        self.record_attempt(route, outcome, at_ms, None, policy);
    }

    /// [`Snapshot::record_outcome`], knowing how long the attempt took and its timer: a success
    /// teaches the route's setup need, and a timeout under a timer shorter than the route's full
    /// one (demoted, or cut by the budget) is weak evidence, which feeds no breaker. Returns the
    /// components the outcome blames ([`blamed_components`]), which a call session suspects
    /// whether or not a shared breaker heard it.
    pub(crate) fn record_attempt(
        &mut self,
        route: usize,
        outcome: Outcome,
        at_ms: u64,
        timing: Option<Timing>,
        policy: &Policy,
    ) -> ComponentSet {
        let blamed = blamed_components(policy, route, outcome);
        let connected = outcome.is_connected();
        if let Outcome::Rejected {
            cause: RejectCause::NotAllowed,
            ..
        } = outcome
        {
            // Refused for this caller, not failing for everyone: no shared breaker hears it.
            return blamed;
        }
        if let Some(t) = timing {
            if connected {
                self.routes[route].learn(t.took_ms, at_ms, policy);
            } else if outcome == Outcome::TimedOut
                && t.timer_ms < full_timeout_ms(policy, route, &self.routes[route], at_ms)
            {
                return blamed;
            }
        }
        self.routes[route].record(connected, at_ms, policy);
        // A success closes the breakers of everything the route needs.
        let touched = if connected {
            policy.routes()[route].needs
        } else {
            blamed
        };
        for c in touched.iter() {
            self.components[c.0 as usize]
                .health
                .record(connected, at_ms, policy);
        }
        blamed
    }

    /// Makes this snapshot equal to `source`, copying only the table entries that can differ:
    /// the components and routes `policy` declares and the PSAPs either snapshot has used. Entries
    /// past those are never written under `policy` (updates are checked against it), so both
    /// snapshots hold defaults there.
    ///
    /// `Router` republishes the whole state on every update; a full copy moved about 9 KB, most
    /// of it unused table space, which made a one-observation update cost more than the copy.
    /// Both snapshots must have been made under `policy` (the router drops its spare buffer when
    /// the policy changes).
    pub(crate) fn clone_used_from(&mut self, source: &Snapshot, policy: &Policy) {
        let components = policy.components().len();
        let routes = policy.routes().len();
        // A rejected batch may have added PSAPs to this buffer that `source` does not have: copy
        // over them too, so no stale entry survives past the count.
        let psaps = self.psap_count.max(source.psap_count);
        self.epoch = source.epoch;
        self.components[..components].copy_from_slice(&source.components[..components]);
        self.routes[..routes].copy_from_slice(&source.routes[..routes]);
        self.psaps[..psaps].copy_from_slice(&source.psaps[..psaps]);
        self.psap_count = source.psap_count;
        debug_assert!(
            self == source,
            "entries past the policy's tables are never written"
        );
    }

    /// This snapshot's state carried over to a new policy: components matched by name, routes by
    /// id; what the new policy does not declare is dropped.
    pub(crate) fn remap(&self, old: &Policy, new: &Policy) -> Snapshot {
        let mut next = Snapshot {
            epoch: self.epoch,
            psaps: self.psaps,
            psap_count: self.psap_count,
            ..Snapshot::default()
        };
        for (i, c) in new.components().iter().enumerate() {
            if let Some(o) = old.component_id(&c.name) {
                next.components[i] = self.components[o.0 as usize];
            }
        }
        for (i, r) in new.routes().iter().enumerate() {
            if let Some(o) = old.route_index(r.id) {
                next.routes[i] = self.routes[o];
            }
        }
        next
    }
}

/// A route's full setup timer: the policy's, or longer where its recent successes needed more
/// (rule 9: a timer is never cut below what the route was seen to need). A quarter is added to
/// the slowest recent success, for the spread of setup times.
pub(crate) fn full_timeout_ms(policy: &Policy, route: usize, health: &Health, now_ms: u64) -> u64 {
    policy.routes()[route]
        .setup_timeout_ms
        .max(timer_floor_ms(health.setup_need_ms(policy, now_ms)))
}

/// The least timer for a route whose slowest recent success took `need_ms`: a quarter more, for
/// the spread of setup times.
pub(crate) fn timer_floor_ms(need_ms: u64) -> u64 {
    need_ms.saturating_add(need_ms / 4)
}

/// Components an unsuccessful outcome counts against. A timeout cannot say which part hung, so
/// every component of the route; "no signal" its radio components; congestion or an unavailable
/// service its service components; any other refusal only the route itself; a refusal of this
/// caller ("not allowed") nothing shared.
pub(crate) fn blamed_components(policy: &Policy, route: usize, outcome: Outcome) -> ComponentSet {
    let needs = policy.routes()[route].needs;
    let of_kind = |kind: ComponentKind| {
        let mut set = ComponentSet::default();
        for c in needs.iter() {
            if policy.components()[c.0 as usize].kind == kind {
                set.insert(c);
            }
        }
        set
    };
    match outcome {
        Outcome::Connected => ComponentSet::default(),
        Outcome::TimedOut => needs,
        Outcome::Rejected { cause, .. } => match cause {
            RejectCause::NoSignal => of_kind(ComponentKind::Radio),
            RejectCause::Congestion | RejectCause::ServiceUnavailable => {
                of_kind(ComponentKind::Service)
            }
            RejectCause::NotAllowed | RejectCause::Other => ComponentSet::default(),
        },
    }
}
