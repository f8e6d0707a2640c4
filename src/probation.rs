//! Probation: a newly installed policy is judged on the calls it plans, and the router restores
//! its predecessor by itself when the new one fails measurably worse.
//!
//! # The signal
//!
//! An outage that begins while a policy is on probation makes *any* policy look worse, so a raw
//! before/after failure rate would roll back good policies exactly when routing matters most.
//! Probation therefore judges a new policy only where it *decided differently*:
//!
//! - For every attempt a call session makes under the policy on probation, the router also plans
//!   the same request under the predecessor, on the same state, skipping the routes that already
//!   failed in this call (the counterfactual), when the attempt's outcome is reported.
//! - If the predecessor would have tried the same route, the attempt is **agreed**: its outcome
//!   says nothing about the change and is not counted. If the predecessor has nothing left to try
//!   either, the same holds.
//! - If it would have tried another route that is itself *seen failing* (negative evidence or an
//!   open breaker), the attempt is a **wash**: both choices look bad, nothing is counted.
//! - Otherwise the attempt is **judged**: the new policy departed from a route not seen failing,
//!   and its attempt failed or connected. Only the first judged attempt of each call counts, so
//!   that the samples are independent calls, not one caller's redials.
//!
//! The judged failure rate is compared with the predecessor's **baseline**: the share of its own
//! last [`BASELINE_ATTEMPTS`] attempts, on routes not then seen failing, that failed, measured on
//! the same router before the change. Both are "surprise" failure rates: failures on a route the
//! state did not already hold against. The router rolls back when, on at least `min_calls`
//! judged calls, the judged rate exceeds the baseline by more than the
//! policy's tolerance *and* the excess is significant (a one-sided Agresti–Caffo test of
//! `judged - baseline > tolerance` at z ≥ [`Z_THRESHOLD`]). A policy that makes no different
//! choice is never judged and passes at the end of its period, which starts at the first outcome
//! reported under it (the router reads no clock; the time it last heard may be old at a load).
//!
//! Everything here is pure: the router feeds it samples and acts on its verdicts.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::identity::PolicyHash;
use crate::plan::Plan;
use crate::planner::{self, Constraints};
use crate::policy::Policy;
use crate::published::Published;
use crate::request::CallRequest;
use crate::route::RouteId;
use crate::state::{Breaker, Evidence, RouteView, Snapshot};

/// How many of the policy in force's most recent attempts make its baseline.
pub(crate) const BASELINE_ATTEMPTS: usize = 512;

/// How many standard errors the judged failure rate must lie above baseline + tolerance before
/// the router rolls back: z = 3 is a one-sided false-alarm rate of about 0.13 % per look.
pub(crate) const Z_THRESHOLD: f64 = 3.0;

/// A policy's `[probation]` settings, compiled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbationSettings {
    /// How long a newly installed policy is on probation; 0: never.
    pub period_ms: u64,
    /// Judged calls needed before any verdict.
    pub min_calls: u32,
    /// How far (a fraction, 0.10 = 10 points) the judged failure rate may exceed the baseline.
    pub tolerance: f64,
}

impl Default for ProbationSettings {
    fn default() -> ProbationSettings {
        ProbationSettings {
            period_ms: DEFAULT_PERIOD_MS,
            min_calls: DEFAULT_MIN_CALLS,
            tolerance: DEFAULT_TOLERANCE_PCT / 100.0,
        }
    }
}

/// Default `probation.period_s`, in milliseconds: 15 minutes.
pub(crate) const DEFAULT_PERIOD_MS: u64 = 900_000;
/// Default `probation.min_calls`.
pub(crate) const DEFAULT_MIN_CALLS: u32 = 20;
/// Default `probation.tolerance_pct`.
pub(crate) const DEFAULT_TOLERANCE_PCT: f64 = 10.0;

/// Attempts and how many of them failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Attempts counted.
    pub attempts: u32,
    /// Of which failed (anything but connected).
    pub failed: u32,
}

impl Tally {
    /// Adds one attempt.
    pub fn add(&mut self, failed: bool) {
        self.attempts = self.attempts.saturating_add(1);
        self.failed = self.failed.saturating_add(u32::from(failed));
    }

    /// The failure rate; 0 with no attempts.
    pub fn rate(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            f64::from(self.failed) / f64::from(self.attempts)
        }
    }
}

/// Where the latest policy change stands. Explicit values: C sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum ProbationState {
    /// No policy has been installed since the router was made, or the latest had probation off.
    None = 0,
    /// The policy in force is being judged.
    OnProbation = 1,
    /// Its period ended without a rollback: it stays.
    Kept = 2,
    /// It failed measurably worse: its predecessor was restored.
    RolledBack = 3,
    /// Another policy was installed (or the operator rolled back) before the period ended.
    Superseded = 4,
}

/// What probation knows about the latest policy change. A status whose state is
/// [`ProbationState::RolledBack`] or [`ProbationState::Kept`] is the event to audit: it carries
/// both policies, the evidence and the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProbationStatus {
    /// Where it stands.
    pub state: ProbationState,
    /// Version of the policy put on probation (0 with state `None`).
    pub candidate_version: u64,
    /// Its hash.
    pub candidate_hash: Option<PolicyHash>,
    /// Version of the policy it replaced.
    pub predecessor_version: u64,
    /// Its hash.
    pub predecessor_hash: Option<PolicyHash>,
    /// The version the predecessor was restored under (state `RolledBack`); 0 otherwise.
    pub restored_version: u64,
    /// When the probation began: the time of the first outcome reported under the policy (until
    /// then, the latest time the router had heard when it was loaded).
    pub since_ms: u64,
    /// When it ends, unless decided before.
    pub until_ms: u64,
    /// When it was decided (kept, rolled back, superseded); 0 while on probation.
    pub decided_ms: u64,
    /// Judged calls: per call, its first attempt on which the candidate chose another route
    /// than the predecessor would have, the predecessor's route not seen failing.
    pub judged: Tally,
    /// Attempts on which both policies chose the same route, or neither had one left (not
    /// judged: their failures, an outage's say, would have come under either policy).
    pub agreed: Tally,
    /// Attempts on which they differed but the predecessor's choice was seen failing too.
    pub washed: u32,
    /// The predecessor's failure rate before the change, on routes not seen failing.
    pub baseline: Tally,
    /// Why it was decided, in one sentence; empty while on probation.
    pub reason: String,
}

impl ProbationStatus {
    /// No probation.
    pub fn none() -> ProbationStatus {
        ProbationStatus {
            state: ProbationState::None,
            candidate_version: 0,
            candidate_hash: None,
            predecessor_version: 0,
            predecessor_hash: None,
            restored_version: 0,
            since_ms: 0,
            until_ms: 0,
            decided_ms: 0,
            judged: Tally::default(),
            agreed: Tally::default(),
            washed: 0,
            baseline: Tally::default(),
            reason: String::new(),
        }
    }
}

/// What one reported attempt of a call under the policy on probation says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sample {
    /// The predecessor would have tried the same route, or nothing: not judged.
    Agreed {
        /// The attempt failed.
        failed: bool,
    },
    /// The predecessor would have tried another route, itself seen failing: not counted.
    Washed,
    /// The predecessor would have tried another route not seen failing.
    Judged {
        /// The candidate's attempt failed.
        failed: bool,
        /// The first judged attempt of its call.
        first_of_call: bool,
    },
}

impl Sample {
    /// Classifies an attempt on `route` against the predecessor's choice for the same request
    /// (`None`: it has nothing left to try) and whether that choice is seen failing.
    pub(crate) fn of<R: PartialEq>(
        route: R,
        predecessor: Option<(R, bool)>,
        failed: bool,
        first_of_call: bool,
    ) -> Sample {
        match predecessor {
            None => Sample::Agreed { failed },
            Some((r, _)) if r == route => Sample::Agreed { failed },
            Some((_, true)) => Sample::Washed,
            Some((_, false)) => Sample::Judged {
                failed,
                first_of_call,
            },
        }
    }
}

/// Whether the state holds a route as failing at `now_ms`: fresh negative evidence (or a
/// recovery still in hold-down) or an open breaker, its own or a component's.
pub(crate) fn seen_failing(view: &RouteView, now_ms: u64) -> bool {
    view.observed(now_ms) == Evidence::Negative || view.breaker(now_ms) == Breaker::Open
}

/// The counterfactual: the route `predecessor` would try first for `request` at `now_ms`, on
/// `snapshot` (laid out for `policy`, the policy on probation), skipping the routes in `failed`,
/// and whether the state holds that route as failing. `None` if it would try nothing.
///
/// This allocates (a snapshot laid out for the predecessor, its views and a plan); it runs on a
/// report, only while a policy is on probation, never on a decision.
pub(crate) fn predecessor_choice(
    snapshot: &Snapshot,
    policy: &Policy,
    predecessor: &Arc<Policy>,
    request: &CallRequest,
    failed: &[RouteId],
    now_ms: u64,
) -> Option<(RouteId, bool)> {
    let published =
        Published::unranked(snapshot.remap(policy, predecessor), Arc::clone(predecessor));
    let elapsed = now_ms.saturating_sub(request.now_ms);
    let constraints = Constraints {
        remaining_ms: Some(predecessor.budget_ms.saturating_sub(elapsed)),
        failed,
        ..Constraints::default()
    };
    let mut plan = Plan::empty(request, predecessor);
    planner::fill(&published, &mut plan, request, now_ms, &constraints);
    let first = plan.attempts.first()?;
    let index = predecessor.route_index(first.route)?;
    Some((
        first.route,
        seen_failing(published.views.route(index), now_ms),
    ))
}

/// The most recent attempts of one policy, as failed or not: a baseline in the making.
#[derive(Debug, Clone)]
pub(crate) struct Recent {
    failed: [bool; BASELINE_ATTEMPTS],
    len: usize,
    next: usize,
}

impl Default for Recent {
    fn default() -> Recent {
        Recent {
            failed: [false; BASELINE_ATTEMPTS],
            len: 0,
            next: 0,
        }
    }
}

impl Recent {
    /// Adds one attempt, forgetting the oldest when full.
    pub(crate) fn add(&mut self, failed: bool) {
        self.failed[self.next] = failed;
        self.next = (self.next + 1) % BASELINE_ATTEMPTS;
        self.len = (self.len + 1).min(BASELINE_ATTEMPTS);
    }

    /// The attempts held.
    pub(crate) fn tally(&self) -> Tally {
        let failed = self.failed[..self.len].iter().filter(|&&f| f).count();
        // At most BASELINE_ATTEMPTS: fits.
        Tally {
            attempts: self.len as u32,
            failed: failed as u32,
        }
    }
}

/// The one-sided Agresti–Caffo z statistic of `judged`'s failure rate exceeding `baseline`'s by
/// more than `tolerance`: each rate is taken with one failure and one success added, which keeps
/// small samples and rates of 0 or 1 from looking certain.
pub(crate) fn excess_z(judged: Tally, baseline: Tally, tolerance: f64) -> f64 {
    let adjusted = |t: Tally| {
        let n = f64::from(t.attempts) + 2.0;
        ((f64::from(t.failed) + 1.0) / n, n)
    };
    let (p1, n1) = adjusted(judged);
    let (p0, n0) = adjusted(baseline);
    let se = (p1 * (1.0 - p1) / n1 + p0 * (1.0 - p0) / n0).sqrt();
    (p1 - p0 - tolerance) / se
}

/// The verdict on a policy on probation from what it has seen so far: `Some(reason)` if it fails
/// measurably worse than its predecessor and must be rolled back.
pub(crate) fn verdict(settings: &ProbationSettings, status: &ProbationStatus) -> Option<String> {
    if status.judged.attempts < settings.min_calls {
        return None;
    }
    let (judged, baseline) = (status.judged, status.baseline);
    let excess = judged.rate() - baseline.rate();
    let z = excess_z(judged, baseline, settings.tolerance);
    if excess <= settings.tolerance || z < Z_THRESHOLD {
        return None;
    }
    Some(format!(
        "policy v{} failed {} of {} calls ({:.1} %) on their first attempt where it chose another \
         route than v{} would have and v{}'s choice was not seen failing, against v{}'s {:.1} % \
         ({} of {} attempts) before the change: {:.1} points worse, over the {:.1}-point \
         tolerance (z = {:.1} >= {Z_THRESHOLD})",
        status.candidate_version,
        judged.failed,
        judged.attempts,
        judged.rate() * 100.0,
        status.predecessor_version,
        status.predecessor_version,
        status.predecessor_version,
        baseline.rate() * 100.0,
        baseline.failed,
        baseline.attempts,
        excess * 100.0,
        settings.tolerance * 100.0,
        z.min(99.9),
    ))
}

/// Probation's bookkeeping on one router: the policy in force's recent attempts (the next
/// baseline) and the status of the latest change.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    /// Version of the policy whose attempts `recent` holds: the one in force.
    version: u64,
    recent: Recent,
    /// The predecessor's recent attempts, kept so a rollback restores its baseline.
    predecessor_recent: Recent,
    settings: ProbationSettings,
    status: ProbationStatus,
    /// A rollback was decided and the router is carrying it out: later samples are ignored.
    pending: bool,
    /// The probation's period has been timed from a reported outcome.
    timed: bool,
}

impl Tracker {
    /// Bookkeeping for a router whose policy in force has `version`.
    pub(crate) fn new(version: u64) -> Tracker {
        Tracker {
            version,
            recent: Recent::default(),
            predecessor_recent: Recent::default(),
            settings: ProbationSettings::default(),
            status: ProbationStatus::none(),
            pending: false,
            timed: false,
        }
    }

    /// The version on probation, if any.
    pub(crate) fn on_probation(&self) -> Option<u64> {
        (self.status.state == ProbationState::OnProbation && !self.pending)
            .then_some(self.status.candidate_version)
    }

    /// The status, with a probation whose period is over at `now_ms` shown as kept. A period
    /// not yet timed from an outcome is not over: until a call reports, nothing was judged.
    pub(crate) fn status(&self, now_ms: u64) -> ProbationStatus {
        let mut status = self.status.clone();
        if status.state == ProbationState::OnProbation
            && self.timed
            && !self.pending
            && now_ms >= status.until_ms
        {
            keep(&mut status);
        }
        status
    }

    /// A new policy `(version, hash)` replaced `(predecessor, hash)` at router time `now_ms`:
    /// it goes on probation under `settings` (none if its period is 0).
    pub(crate) fn start(
        &mut self,
        candidate: (u64, PolicyHash),
        predecessor: (u64, PolicyHash),
        settings: ProbationSettings,
        now_ms: u64,
    ) {
        self.supersede(now_ms);
        let baseline = if self.version == predecessor.0 {
            self.recent.tally()
        } else {
            Tally::default()
        };
        self.predecessor_recent = std::mem::take(&mut self.recent);
        self.version = candidate.0;
        self.settings = settings;
        self.pending = false;
        self.timed = false;
        if settings.period_ms == 0 {
            self.status = ProbationStatus::none();
            return;
        }
        self.status = ProbationStatus {
            state: ProbationState::OnProbation,
            candidate_version: candidate.0,
            candidate_hash: Some(candidate.1),
            predecessor_version: predecessor.0,
            predecessor_hash: Some(predecessor.1),
            since_ms: now_ms,
            until_ms: now_ms.saturating_add(settings.period_ms),
            baseline,
            ..ProbationStatus::none()
        };
    }

    /// The operator rolled back to an earlier policy, now in force as `version`.
    pub(crate) fn restored_by_operator(&mut self, version: u64, now_ms: u64) {
        self.supersede(now_ms);
        self.version = version;
        self.recent = Recent::default();
    }

    /// Ends a probation still running because another policy took over.
    fn supersede(&mut self, now_ms: u64) {
        if self.status.state != ProbationState::OnProbation {
            return;
        }
        if self.timed && now_ms >= self.status.until_ms && !self.pending {
            keep(&mut self.status);
        } else {
            self.status.state = ProbationState::Superseded;
            self.status.decided_ms = now_ms;
            self.status.reason = format!(
                "another policy was installed before the probation of v{} ended",
                self.status.candidate_version
            );
        }
        self.pending = false;
    }

    /// One reported attempt of a call planned under `version`: `baseline` is whether it failed,
    /// if its route was not seen failing (`None`: it was, and the attempt says nothing of the
    /// policy); `sample` what it says against the predecessor, if that version is on probation.
    /// Returns the reason for a rollback when one is due; the caller then rolls back and calls
    /// [`Tracker::rolled_back`] (or [`Tracker::rollback_failed`]).
    pub(crate) fn note(
        &mut self,
        version: u64,
        baseline: Option<bool>,
        sample: Option<Sample>,
        now_ms: u64,
    ) -> Option<String> {
        if version != self.version {
            return None;
        }
        if let Some(failed) = baseline {
            self.recent.add(failed);
        }
        if self.on_probation() != Some(version) {
            return None;
        }
        if !self.timed {
            // The router's clock at the load may be old: the period runs from the first outcome.
            self.timed = true;
            self.status.since_ms = self.status.since_ms.max(now_ms);
            self.status.until_ms = self.status.since_ms.saturating_add(self.settings.period_ms);
        }
        if now_ms >= self.status.until_ms {
            keep(&mut self.status);
            return None;
        }
        match sample? {
            Sample::Agreed { failed } => self.status.agreed.add(failed),
            Sample::Washed => self.status.washed = self.status.washed.saturating_add(1),
            Sample::Judged {
                failed,
                first_of_call,
            } => {
                if !first_of_call {
                    // A later attempt of a call already judged: the same caller, not a new sample.
                    return None;
                }
                self.status.judged.add(failed);
                let reason = verdict(&self.settings, &self.status)?;
                self.pending = true;
                return Some(reason);
            }
        }
        None
    }

    /// The predecessor is back in force as `restored_version` at `now_ms`, for `reason`.
    pub(crate) fn rolled_back(&mut self, restored_version: u64, reason: String, now_ms: u64) {
        self.status.state = ProbationState::RolledBack;
        self.status.restored_version = restored_version;
        self.status.decided_ms = now_ms;
        self.status.reason = reason;
        self.pending = false;
        self.version = restored_version;
        // The restored policy is the predecessor: its baseline is its own again.
        self.recent = std::mem::take(&mut self.predecessor_recent);
    }

    /// The rollback decided could not be made (another policy took over first).
    pub(crate) fn rollback_failed(&mut self) {
        self.pending = false;
    }
}

/// Ends a probation whose period ran out: the policy stays.
fn keep(status: &mut ProbationStatus) {
    status.state = ProbationState::Kept;
    status.decided_ms = status.until_ms;
    status.reason = format!(
        "policy v{} kept: its probation ended with {} judged calls failing {:.1} % against \
         v{}'s {:.1} % before the change",
        status.candidate_version,
        status.judged.attempts,
        status.judged.rate() * 100.0,
        status.predecessor_version,
        status.baseline.rate() * 100.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(attempts: u32, failed: u32) -> Tally {
        Tally { attempts, failed }
    }

    #[test]
    fn the_test_needs_a_clear_excess_on_enough_attempts() {
        // 20 of 20 failing against a 10 % baseline: far over a 10-point tolerance.
        assert!(excess_z(tally(20, 20), tally(512, 51), 0.10) > Z_THRESHOLD);
        // One of one failing is not evidence.
        assert!(excess_z(tally(1, 1), tally(512, 51), 0.10) < Z_THRESHOLD);
        // 30 % against 10 % on 20 attempts: not yet significant over a 10-point tolerance.
        assert!(excess_z(tally(20, 6), tally(512, 51), 0.10) < Z_THRESHOLD);
        // The same rate as the baseline never is.
        assert!(excess_z(tally(500, 50), tally(512, 51), 0.0) < Z_THRESHOLD);
    }

    #[test]
    fn a_sample_is_judged_only_where_the_policies_differ_and_the_other_choice_looked_fine() {
        let agreed = Sample::Agreed { failed: true };
        assert_eq!(Sample::of(1, Some((1, false)), true, true), agreed);
        assert_eq!(Sample::of(1, None, true, true), agreed);
        assert_eq!(Sample::of(1, Some((3, true)), true, true), Sample::Washed);
        assert_eq!(
            Sample::of(1, Some((3, false)), true, true),
            Sample::Judged {
                failed: true,
                first_of_call: true
            }
        );
    }

    fn started(baseline_failed: u32) -> Tracker {
        let mut t = Tracker::new(1);
        for i in 0..100 {
            t.note(1, Some(i < baseline_failed), None, 0);
        }
        let h = crate::Policy::us_default().hash();
        t.start((2, h), (1, h), ProbationSettings::default(), 1_000);
        t
    }

    #[test]
    fn a_policy_failing_where_it_departs_is_rolled_back_after_min_calls() {
        let mut t = started(10);
        assert_eq!(t.status(1_000).baseline, tally(100, 10));
        let judged = Sample::Judged {
            failed: true,
            first_of_call: true,
        };
        for i in 0..DEFAULT_MIN_CALLS - 1 {
            assert_eq!(
                t.note(2, Some(true), Some(judged), 2_000 + u64::from(i)),
                None
            );
        }
        let reason = t
            .note(2, Some(true), Some(judged), 3_000)
            .expect("rolled back");
        assert!(reason.contains("v2") && reason.contains("v1"), "{reason}");
        assert_eq!(t.on_probation(), None, "pending: no second verdict");
        t.rolled_back(3, reason, 3_000);
        let s = t.status(3_000);
        assert_eq!(s.state, ProbationState::RolledBack);
        assert_eq!(
            (s.restored_version, s.judged.attempts),
            (3, DEFAULT_MIN_CALLS)
        );
        assert_eq!(
            t.recent.tally(),
            tally(100, 10),
            "the predecessor's baseline is back"
        );
    }

    #[test]
    fn agreement_and_washes_never_roll_back_and_the_period_ends_in_keeping() {
        let mut t = started(10);
        for i in 0..1_000 {
            let s = if i % 2 == 0 {
                Sample::Agreed { failed: true }
            } else {
                Sample::Washed
            };
            assert_eq!(t.note(2, Some(true), Some(s), 2_000), None);
        }
        // The period runs from the first outcome (2 s), not from the load (1 s).
        assert_eq!(t.status(2_000).since_ms, 2_000);
        let mut untimed = started(0);
        let long_after = 10 * DEFAULT_PERIOD_MS;
        assert_eq!(
            untimed.status(long_after).state,
            ProbationState::OnProbation
        );
        untimed.note(2, None, Some(Sample::Agreed { failed: false }), long_after);
        assert_eq!(
            untimed.status(long_after).until_ms,
            long_after + DEFAULT_PERIOD_MS
        );
        let end = 2_000 + DEFAULT_PERIOD_MS;
        assert_eq!(t.status(end - 1).state, ProbationState::OnProbation);
        assert_eq!(t.status(end).state, ProbationState::Kept);
        t.note(2, None, None, end);
        let s = t.status(0);
        assert_eq!(
            (s.state, s.agreed.attempts, s.washed),
            (ProbationState::Kept, 500, 500)
        );
    }

    #[test]
    fn a_period_of_zero_means_no_probation_and_a_new_load_supersedes() {
        let mut t = started(0);
        let h = crate::Policy::us_default().hash();
        t.start((3, h), (2, h), ProbationSettings::default(), 2_000);
        assert_eq!(t.status(2_000).candidate_version, 3);
        let off = ProbationSettings {
            period_ms: 0,
            ..ProbationSettings::default()
        };
        t.start((4, h), (3, h), off, 3_000);
        assert_eq!(t.status(3_000).state, ProbationState::None);
        assert_eq!(t.on_probation(), None);
    }
}
