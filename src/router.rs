//! The router: the live state and the policy in force, shared by every call and every monitor.
//!
//! Readers (decisions) load the published state with one lock-free atomic load and never block
//! writers or each other. Writers (monitors, outcome reports, policy loads) are serialised by a
//! mutex; each builds the next state in a private buffer and publishes it with one atomic swap,
//! so a rejected batch is simply never published. Buffers are recycled once no reader holds
//! them, so a steady stream of updates does not touch the heap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use thiserror::Error;

use crate::audit::{AuditError, AuditSink, Trail};
use crate::observation::{ComponentId, Observation, Outcome, Subject};
use crate::plan::{Attempt, Plan};
use crate::planner::{self, Constraints};
use crate::policy::{ComponentSet, Policy, PolicyError, PolicyFormat, MAX_COMPONENTS};
use crate::probation::{self, ProbationStatus, Sample, Tracker};
use crate::published::Published;
use crate::request::CallRequest;
use crate::route::{RouteId, RouteSet, MAX_ROUTES};
use crate::signing::{PolicySignature, PublicKey};
use crate::state::{Snapshot, Timing, Update, UpdateError, MAX_BATCH};

#[derive(Debug)]
struct Writer {
    /// Buffers for the next publications, reused when no reader still holds them: the two
    /// states published before the current one. With one spare, a reader still planning on the
    /// previous state (or preempted while it does) made one update in twenty to fifty allocate a
    /// new buffer under a writer storm; with two, such a reader pins only one of them.
    spares: [Option<Arc<Published>>; 2],
    next_policy_version: u64,
    /// The policies in force before the current one, oldest first, at most
    /// [`POLICY_HISTORY`]: what [`Router::rollback_policy`] restores.
    history: Vec<Arc<Policy>>,
    /// Keys a policy text must be signed with to load; empty: unsigned texts load.
    trusted_keys: Vec<PublicKey>,
}

/// How many earlier policies a router keeps for [`Router::rollback_policy`]: enough to undo a
/// short series of changes, bounded so that a router fed policies for years does not grow.
pub const POLICY_HISTORY: usize = 8;

/// [`Router::rollback_policy`] found no earlier policy: the router has had one policy since it
/// was created, or every earlier one was rolled back to already.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "no previous policy to roll back to: policy {name} v{version} is the oldest this router \
     keeps (it keeps the {POLICY_HISTORY} before the one in force)"
)]
pub struct NoPreviousPolicy {
    /// Name of the policy in force.
    pub name: String,
    /// Its version.
    pub version: u64,
}

impl Writer {
    /// A spare buffer no reader holds, if there is one.
    fn take_unshared(&mut self) -> Option<Arc<Published>> {
        for slot in &mut self.spares {
            if let Some(buffer) = slot {
                if Arc::get_mut(buffer).is_some() {
                    return slot.take();
                }
            }
        }
        None
    }

    /// Keeps `buffer` for reuse; if both spares are kept already (readers held both, so a
    /// buffer was allocated), one of them is let go and freed when its last reader is done.
    fn keep(&mut self, buffer: Arc<Published>) {
        match self.spares.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some(buffer),
            None => {
                self.spares.swap(0, 1);
                self.spares[1] = Some(buffer);
            }
        }
    }
}

#[derive(Debug)]
struct Shared {
    current: ArcSwap<Published>,
    writer: Mutex<Writer>,
    /// Probation's bookkeeping; taken after `writer` when both are held.
    probation: Mutex<Tracker>,
    /// The version on probation, 0 for none: a report checks it without a lock.
    on_probation: AtomicU64,
    /// The audit trail: a bounded ring decisions push to, drained by the embedder.
    audit: Trail,
}

/// Decides how emergency calls should go. Cheap to clone (clones share state).
///
/// `Router` is `Send + Sync`: any number of threads may plan, run call sessions and push updates
/// at once.
///
/// ```
/// use sosroute::{CallRequest, Capabilities, Fact, Media, Observation, RadioState, Router, SignalLevel};
///
/// let router = Router::new(sosroute::Policy::us_default());
/// let home_ran = router.component_id("home_ran").unwrap();
/// // The home network is down to "SOS only".
/// router.update(&[Observation::component(
///     home_ran,
///     Fact::Radio { state: RadioState::LimitedService, signal: SignalLevel(2) },
///     1_000,
/// )]).unwrap();
///
/// let request = CallRequest::new(1, "911", Media::Voice, Capabilities::NONE, 2_000).unwrap();
/// let plan = router.plan(&request);
/// assert_eq!(plan.route_name(plan.attempts[0].route), "other_network");
/// println!("{}", plan.explain());
/// ```
#[derive(Debug, Clone)]
pub struct Router {
    shared: Arc<Shared>,
}

impl Router {
    /// A router with no observations yet, using `policy`.
    pub fn new(mut policy: Policy) -> Router {
        policy.set_version(1);
        let published = Published::new(Snapshot::default(), Arc::new(policy), 0);
        Router {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(published),
                writer: Mutex::new(Writer {
                    spares: [None, None],
                    next_policy_version: 2,
                    history: Vec::new(),
                    trusted_keys: Vec::new(),
                }),
                probation: Mutex::new(Tracker::new(1)),
                on_probation: AtomicU64::new(0),
                audit: Trail::default(),
            }),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.shared.current.load().policy)
    }

    /// The id, under the policy in force, of the component called `name`.
    pub fn component_id(&self, name: &str) -> Option<ComponentId> {
        self.shared.current.load().policy.component_id(name)
    }

    /// A copy of the current state snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.current.load().snapshot.clone()
    }

    /// Installs `policy` and returns its version. State is carried over: components by name,
    /// route history by route id. The policy it replaces is kept for
    /// [`Router::rollback_policy`].
    ///
    /// This takes a compiled policy from the embedder's own code and is not checked against the
    /// trusted keys: policy *text* from outside goes through [`Router::load_policy`] or
    /// [`Router::load_signed_policy`], which are.
    pub fn set_policy(&self, policy: Policy) -> u64 {
        let mut writer = self.shared.writer.lock();
        self.replace_policy(&mut writer, policy)
    }

    /// Installs `policy`, keeping the one in force for rollback.
    fn replace_policy(&self, writer: &mut Writer, policy: Policy) -> u64 {
        let old = Arc::clone(&self.shared.current.load().policy);
        if writer.history.len() == POLICY_HISTORY {
            writer.history.remove(0);
        }
        writer.history.push(Arc::clone(&old));
        let version = self.install(writer, policy);
        self.begin_probation(&old);
        version
    }

    /// Publishes `policy` with the next version, carrying the state over.
    fn install(&self, writer: &mut Writer, mut policy: Policy) -> u64 {
        let version = writer.next_policy_version;
        writer.next_policy_version += 1;
        policy.set_version(version);
        let current = self.shared.current.load_full();
        let snapshot = current.snapshot.remap(&current.policy, &policy);
        let policy = Arc::new(policy);
        self.shared.audit.policy(&policy, snapshot.epoch);
        self.shared
            .current
            .store(Arc::new(Published::new(snapshot, policy, current.clock_ms)));
        // The old buffers hold a stale policy and state laid out for it: drop them.
        writer.spares = [None, None];
        version
    }

    /// Parses, validates and installs a policy. On error the policy in force stays in force.
    ///
    /// Once trusted keys are set ([`Router::set_trusted_keys`]) an unsigned text is refused
    /// ([`crate::SignatureError::Missing`]): use [`Router::load_signed_policy`].
    pub fn load_policy(&self, text: &str, format: PolicyFormat) -> Result<u64, PolicyError> {
        let policy = Policy::parse(text, format)?;
        let mut writer = self.shared.writer.lock();
        if !writer.trusted_keys.is_empty() {
            return Err(crate::SignatureError::Missing {
                keys: writer.trusted_keys.len(),
            }
            .into());
        }
        Ok(self.replace_policy(&mut writer, policy))
    }

    /// Parses, validates and installs a policy whose text `signature` signs with one of the
    /// router's trusted keys. The signature is checked first, over the exact bytes of `text`; on
    /// any error (no trusted keys, an unknown key, a bad signature, an invalid policy) the policy
    /// in force stays in force and the error says which.
    ///
    /// ```
    /// use sosroute::{Policy, PolicyFormat, Router, SecretKey};
    /// let secret = SecretKey::from_seed(&[7; 32]); // keygen uses the OS's random source
    /// let router = Router::new(Policy::us_default());
    /// router.set_trusted_keys(&[secret.public_key()]);
    /// let text = sosroute::US_HANDSET_TOML;
    /// assert!(router.load_policy(text, PolicyFormat::Toml).is_err()); // unsigned: refused
    /// let signature = secret.sign(text.as_bytes());
    /// assert_eq!(router.load_signed_policy(text, PolicyFormat::Toml, &signature), Ok(2));
    /// ```
    pub fn load_signed_policy(
        &self,
        text: &str,
        format: PolicyFormat,
        signature: &PolicySignature,
    ) -> Result<u64, PolicyError> {
        let mut writer = self.shared.writer.lock();
        // Under the writer lock, so that the keys checked are the keys in force when it installs.
        signature.verify(text.as_bytes(), &writer.trusted_keys)?;
        let policy = Policy::parse(text, format)?;
        Ok(self.replace_policy(&mut writer, policy))
    }

    /// Sets the public keys whose signatures [`Router::load_signed_policy`] accepts. With any
    /// key set, [`Router::load_policy`] refuses unsigned texts; an empty list allows them again.
    /// The policy in force is not re-checked: it was accepted under the rules of its day.
    pub fn set_trusted_keys(&self, keys: &[PublicKey]) {
        let mut writer = self.shared.writer.lock();
        writer.trusted_keys.clear();
        writer.trusted_keys.extend_from_slice(keys);
    }

    /// The public keys policies must be signed with; empty if unsigned policies load.
    pub fn trusted_keys(&self) -> Vec<PublicKey> {
        self.shared.writer.lock().trusted_keys.clone()
    }

    /// Puts back the policy in force before the current one, exactly (the same spec, so the same
    /// [`Policy::hash`]) under a new version, with the state carried over as by
    /// [`Router::set_policy`], and returns that version. Repeated, it steps further back, through
    /// up to [`POLICY_HISTORY`] earlier policies; a rollback is not itself rolled back.
    ///
    /// A policy restored this way is not checked against the trusted keys: it was accepted when
    /// it was loaded.
    pub fn rollback_policy(&self) -> Result<u64, NoPreviousPolicy> {
        let mut writer = self.shared.writer.lock();
        let Some(previous) = writer.history.pop() else {
            let current = self.policy();
            return Err(NoPreviousPolicy {
                name: current.name().to_owned(),
                version: current.version(),
            });
        };
        let policy = Arc::try_unwrap(previous).unwrap_or_else(|shared| (*shared).clone());
        let version = self.install(&mut writer, policy);
        let mut tracker = self.shared.probation.lock();
        tracker.restored_by_operator(version, self.shared.current.load().clock_ms);
        self.shared.on_probation.store(0, Ordering::Release);
        Ok(version)
    }

    /// Applies a batch of updates atomically and returns the new state epoch. If any update is
    /// invalid, or the batch holds more than [`MAX_BATCH`] updates, none is applied and the error
    /// names the first update at fault.
    pub fn apply<I>(&self, updates: I) -> Result<u64, UpdateError>
    where
        I: IntoIterator<Item = Update>,
    {
        self.publish(|next| {
            let (mut components, mut routes) = (ComponentSet::default(), RouteSet::default());
            let mut audit =
                (self.shared.audit).batch(next.snapshot.epoch + 1, next.policy.version());
            for (index, update) in updates.into_iter().enumerate() {
                if index >= MAX_BATCH {
                    audit.reject();
                    return Err(UpdateError::BatchTooLarge {
                        index,
                        max: MAX_BATCH,
                    });
                }
                if let Err(e) = next.snapshot.apply(&update, index, &next.policy) {
                    audit.reject();
                    return Err(e);
                }
                audit.push(update);
                next.clock_ms = next.clock_ms.max(update.at_ms());
                // Applied, so its component or route is the policy's.
                match update {
                    Update::Observe(o) => match o.subject {
                        Subject::Component(c) => components.insert(c),
                        Subject::Psap(_) => {}
                    },
                    // An outcome feeds the route's breaker and those of (some of) its components.
                    Update::Outcome { route, .. } => {
                        if let Some(index) = next.policy.route_index(route) {
                            routes.insert(index);
                            components.0 |= next.policy.routes()[index].needs.0;
                        }
                    }
                }
            }
            audit.finish();
            Ok((components, routes))
        })
    }

    /// Applies a batch of observations atomically (see [`Router::apply`]).
    pub fn update(&self, observations: &[Observation]) -> Result<u64, UpdateError> {
        self.apply(observations.iter().map(|&o| Update::Observe(o)))
    }

    /// Applies one observation.
    pub fn observe(&self, observation: Observation) -> Result<u64, UpdateError> {
        self.apply([Update::Observe(observation)])
    }

    /// Records the outcome of an attempt made outside a [`CallSession`].
    pub fn record_outcome(
        &self,
        route: RouteId,
        outcome: Outcome,
        at_ms: u64,
    ) -> Result<u64, UpdateError> {
        self.apply([Update::Outcome {
            route,
            outcome,
            at_ms,
        }])
    }

    /// Builds the next state with `build`, which returns the components and routes it changed,
    /// and publishes it.
    fn publish<F>(&self, build: F) -> Result<u64, UpdateError>
    where
        F: FnOnce(&mut Published) -> Result<(ComponentSet, RouteSet), UpdateError>,
    {
        let mut writer = self.shared.writer.lock();
        let current = self.shared.current.load();
        // Reuse a spare buffer unless readers still hold both.
        let mut next = writer
            .take_unshared()
            .unwrap_or_else(|| Arc::new((**current).clone()));
        let buffer = Arc::get_mut(&mut next).expect("a fresh or unshared buffer has one owner");
        buffer.copy_from(&current);
        drop(current);
        match build(buffer) {
            Ok((components, routes)) => buffer.refresh(components, routes),
            Err(e) => {
                writer.keep(next);
                return Err(e);
            }
        }
        buffer.snapshot.epoch += 1;
        let epoch = buffer.snapshot.epoch;
        let previous = self.shared.current.swap(next);
        writer.keep(previous);
        Ok(epoch)
    }

    /// Plans `request` on the latest state.
    pub fn plan(&self, request: &CallRequest) -> Plan {
        let current = self.shared.current.load();
        // Built in this frame, as every plan the router makes: a plan is about a kilobyte, and
        // each move of it out of a helper costs a hundred instructions.
        let mut plan = Plan::empty(request, &current.policy);
        planner::fill(
            &current,
            &mut plan,
            request,
            request.now_ms,
            &Constraints::default(),
        );
        self.shared.audit.plan(&plan, None);
        // Let the state go before the plan is moved out: the guard's atomic release drains the
        // stores that built the plan, so the move then reads them from cache instead of
        // stalling on them.
        drop(current);
        plan
    }

    /// Plans `request` into `plan`, reusing its storage: the same decision as [`Router::plan`],
    /// without moving a whole plan when a host keeps one between calls.
    pub fn plan_into(&self, request: &CallRequest, plan: &mut Plan) {
        let current = self.shared.current.load();
        planner::fill(
            &current,
            plan,
            request,
            request.now_ms,
            &Constraints::default(),
        );
        self.shared.audit.plan(plan, None);
    }

    /// Starts the audit trail: from now on every policy change, update batch, decision, attempt
    /// and outcome is queued as a record for `sink`, in a ring of `capacity` records allocated
    /// now (the first attach fixes its size). The first record is a checkpoint of the state and
    /// policy in force. Records reach the sink only when [`Router::drain_audit`] is called;
    /// when the ring is full they are dropped and counted ([`Router::audit_dropped`]). Replaces
    /// a sink attached before. On error nothing changes.
    pub fn attach_audit(
        &self,
        sink: Box<dyn AuditSink>,
        capacity: usize,
    ) -> Result<(), AuditError> {
        // Under the writer lock: no state change slips between the checkpoint and the records
        // that follow it.
        let _writer = self.shared.writer.lock();
        let current = self.shared.current.load();
        let checkpoint = (current.snapshot.clone(), Arc::clone(&current.policy));
        self.shared.audit.attach(sink, capacity, checkpoint)
    }

    /// Stops the audit trail and returns the sink. Records still queued reach no sink: call
    /// [`Router::drain_audit`] first.
    pub fn detach_audit(&self) -> Option<Box<dyn AuditSink>> {
        self.shared.audit.detach()
    }

    /// Hands every queued audit record to the sink as one JSON line each, on the calling thread,
    /// and returns how many lines were written. Call it from a thread of your own, as often as
    /// the log should be fresh: it is the only place the audit trail serialises, allocates or
    /// waits on the sink. After dropped records it writes a `dropped` line, and, if a state
    /// record was among them, a new checkpoint (see [`crate::audit`]).
    pub fn drain_audit(&self) -> usize {
        self.shared.audit.drain(|| {
            let current = self.shared.current.load();
            (current.snapshot.clone(), Arc::clone(&current.policy))
        })
    }

    /// Audit records dropped because the ring was full (the sink was not drained fast enough),
    /// since the router was created.
    pub fn audit_dropped(&self) -> u64 {
        self.shared.audit.dropped()
    }

    /// Records how an attempt of a call session ended, with its timing, so that other calls
    /// learn from it. Returns the components the outcome blames and the version of the policy
    /// whose ids those are; `None` if the policy in force does not declare the route.
    fn record_attempt(
        &self,
        call_id: u64,
        route: RouteId,
        outcome: Outcome,
        at_ms: u64,
        timing: Timing,
    ) -> Option<(ComponentSet, u64, bool)> {
        let mut blamed = None;
        let _ = self.publish(|next| {
            let index = next
                .policy
                .route_index(route)
                .ok_or(UpdateError::UnknownRoute {
                    index: 0,
                    route: route.0,
                })?;
            let seen_failing = probation::seen_failing(next.views.route(index), at_ms);
            let set =
                next.snapshot
                    .record_attempt(index, outcome, at_ms, Some(timing), &next.policy);
            blamed = Some((set, next.policy.version(), seen_failing));
            let at = (next.snapshot.epoch + 1, next.policy.version());
            (self.shared.audit).outcome(call_id, route, outcome, at_ms, timing, at);
            next.clock_ms = next.clock_ms.max(at_ms);
            let mut routes = RouteSet::default();
            routes.insert(index);
            Ok((next.policy.routes()[index].needs, routes))
        });
        blamed
    }

    /// Starts a call session: the caller then asks for attempts one at a time and reports how
    /// each ended.
    pub fn begin(&self, request: CallRequest) -> CallSession {
        CallSession {
            router: self.clone(),
            request,
            failed: SmallVec::new(),
            blame: [0; MAX_COMPONENTS],
            tried_ms: [0; MAX_ROUTES],
            timed_out: RouteSet::default(),
            failed_slowly: RouteSet::default(),
            policy_version: 0,
            call_failed: SmallVec::new(),
            judged_version: 0,
            in_flight: None,
            attempts: 0,
            round_started_ms: request.now_ms,
            redialled: false,
            end: None,
        }
    }
}

/// Why a call session has nothing more to attempt. Explicit values: C sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum Done {
    /// An attempt connected.
    Connected = 1,
    /// The call's budget is spent.
    BudgetSpent = 2,
    /// No route is usable for this request at all (none the caller can use, or none listed
    /// for its media). A voice call never ends so: rule 1 leaves it a route.
    Exhausted = 3,
}

/// What to do next in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Make this attempt, then report its outcome.
    Attempt(Attempt),
    /// Stop: nothing more to attempt.
    Done(Done),
}

/// A call session used out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// `next_attempt` while the previous attempt has not been reported.
    #[error("an attempt on route {0} is in flight; report its outcome first")]
    AttemptInFlight(u16),
    /// `report` with no attempt in flight.
    #[error("no attempt is in flight to report on")]
    NothingInFlight,
}

/// One emergency call in progress: `next_attempt` → (make the attempt) → `report` → ... until
/// [`Next::Done`].
///
/// Each `next_attempt` re-plans on the latest state, skips routes that already failed in this
/// walk of the route list, treats components blamed for those failures as suspect, gives a
/// route tried before in this call a longer timer, and never gives an attempt a longer timer
/// than the budget has left. When every usable route has failed, it walks the list again (a
/// redial), at least the policy's `redial_backoff_s` after the previous walk began, until the
/// budget is spent (rule 10): a call ends early only when no route is usable at all. A slow
/// route that has not connected recently waits for one redial when everything before it in the
/// call failed at once.
///
/// A `CallSession` belongs to one thread at a time (it is `Send`, not shared).
#[derive(Debug)]
pub struct CallSession {
    router: Router,
    request: CallRequest,
    /// Routes that failed in this walk of the list.
    failed: SmallVec<[RouteId; MAX_ROUTES]>,
    /// How many failures in this call blamed each component, by id.
    blame: [u8; MAX_COMPONENTS],
    /// The timer of the latest attempt at each route, by policy index, in this call.
    tried_ms: [u32; MAX_ROUTES],
    /// Routes whose latest attempt in this call timed out, by policy index.
    timed_out: RouteSet,
    /// Routes whose latest attempt in this call failed slowly (see [`Constraints`]).
    failed_slowly: RouteSet,
    /// Version of the policy whose indices `blame`, `tried_ms`, `timed_out` and
    /// `failed_slowly` hold.
    policy_version: u64,
    /// Every route that failed in this call, in any walk: what probation's counterfactual skips.
    call_failed: SmallVec<[RouteId; MAX_ROUTES]>,
    /// The policy version on probation this call was counted for as a judged call.
    judged_version: u64,
    /// The attempt in flight and when it starts (after its delay).
    in_flight: Option<(Attempt, u64)>,
    attempts: u32,
    /// When the current walk of the route list began.
    round_started_ms: u64,
    /// Whether this call has walked the route list again (a redial).
    redialled: bool,
    end: Option<Done>,
}

impl CallSession {
    /// The request this call answers.
    pub fn request(&self) -> &CallRequest {
        &self.request
    }

    /// Attempts handed out so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The attempt in flight (handed out by `next_attempt`, not yet reported), if any.
    pub fn in_flight(&self) -> Option<&Attempt> {
        self.in_flight.as_ref().map(|(a, _)| a)
    }

    /// The next attempt, or why there is none. An attempt with a `delay_ms` is to be dialled
    /// that long after `now_ms` (a redial's backoff).
    pub fn next_attempt(&mut self, now_ms: u64) -> Result<Next, SessionError> {
        if let Some((a, _)) = self.in_flight {
            return Err(SessionError::AttemptInFlight(a.route.0));
        }
        if let Some(end) = self.end {
            return Ok(Next::Done(end));
        }
        let current = self.router.shared.current.load();
        let policy = &current.policy;
        let remaining = self.remaining_ms(policy, now_ms);
        if remaining == 0 {
            return Ok(self.finish(Done::BudgetSpent));
        }
        if self.policy_version != policy.version() {
            // Indices of another policy mean nothing here.
            self.blame = [0; MAX_COMPONENTS];
            self.tried_ms = [0; MAX_ROUTES];
            self.timed_out = RouteSet::default();
            self.failed_slowly = RouteSet::default();
            self.policy_version = policy.version();
        }
        let mut delay_ms = 0;
        let mut plan = Plan::empty(&self.request, policy);
        loop {
            let constraints = self.constraints(remaining - delay_ms);
            let at_ms = now_ms + delay_ms;
            planner::fill(&current, &mut plan, &self.request, at_ms, &constraints);
            let first = plan.attempts.first().copied();
            if let Some(attempt) = first.filter(|a| !self.slow_route_waits(&current, a, at_ms)) {
                (self.router.shared.audit).plan(&plan, Some((&constraints, delay_ms)));
                let attempt = Attempt {
                    delay_ms,
                    ..attempt
                };
                if let Some(index) = policy.route_index(attempt.route) {
                    self.tried_ms[index] = u32::try_from(attempt.timeout_ms).unwrap_or(u32::MAX);
                }
                self.in_flight = Some((attempt, now_ms + delay_ms));
                self.attempts += 1;
                return Ok(Next::Attempt(attempt));
            }
            if self.failed.is_empty() {
                // Nothing usable even on a fresh walk of the list.
                return Ok(self.finish(Done::Exhausted));
            }
            // Every usable route failed (or only a slow route that waits is left): redial,
            // walking the list again on what is known now (what this call blamed still ranks the
            // less blamed routes first).
            self.failed.clear();
            self.redialled = true;
            delay_ms = policy
                .redial_backoff_ms
                .saturating_sub(now_ms.saturating_sub(self.round_started_ms));
            self.round_started_ms = now_ms + delay_ms;
            if delay_ms >= remaining {
                return Ok(self.finish(Done::BudgetSpent));
            }
        }
    }

    /// Rule 10: a slow route (a timer above the policy's `slow_route_s`) that has not connected
    /// within the learning window does not start a walk's remainder when every attempt of the
    /// walk so far failed at once (within the redial backoff): the list is walked once more
    /// first. The redial costs the backoff; the slow route may cost the rest of the caller's
    /// patience, and what failed at once (no signal, a refusal) may be back a moment later.
    /// Once per call, so a slow route that is the only way out waits one backoff at most.
    fn slow_route_waits(&self, current: &Published, attempt: &Attempt, at_ms: u64) -> bool {
        let policy = &current.policy;
        !self.redialled
            && !self.failed.is_empty()
            && at_ms.saturating_sub(self.round_started_ms) < policy.redial_backoff_ms
            && policy.route_index(attempt.route).is_some_and(|index| {
                policy.slow_routes().contains(index)
                    && current.views.route(index).setup_need_ms(at_ms) == 0
            })
    }

    /// Budget left at `now_ms` under `policy`.
    fn remaining_ms(&self, policy: &Policy, now_ms: u64) -> u64 {
        let elapsed = now_ms.saturating_sub(self.request.now_ms);
        policy.budget_ms.saturating_sub(elapsed)
    }

    fn constraints(&self, remaining_ms: u64) -> Constraints<'_> {
        Constraints {
            remaining_ms: Some(remaining_ms),
            failed: &self.failed,
            blame: self.blame,
            tried_ms: self.tried_ms,
            timed_out: self.timed_out,
            failed_slowly: self.failed_slowly,
        }
    }

    /// The plan the session would follow from `now_ms`: the latest state, minus what failed.
    /// Where its first attempt is a slow route that waits for a redial (rule 10), the session
    /// walks the list again first.
    pub fn plan(&self, now_ms: u64) -> Plan {
        let current = self.router.shared.current.load();
        let remaining = self.remaining_ms(&current.policy, now_ms);
        let same_policy = self.policy_version == current.policy.version();
        let constraints = if same_policy {
            self.constraints(remaining)
        } else {
            Constraints {
                remaining_ms: Some(remaining),
                failed: &self.failed,
                ..Constraints::default()
            }
        };
        let mut plan = Plan::empty(&self.request, &current.policy);
        planner::fill(&current, &mut plan, &self.request, now_ms, &constraints);
        plan
    }

    /// Reports how the attempt in flight ended. The outcome also feeds the router's breakers,
    /// and a success teaches the route's setup time, so other calls learn from it.
    pub fn report(&mut self, outcome: Outcome, now_ms: u64) -> Result<(), SessionError> {
        let (attempt, started_ms) = self.in_flight.take().ok_or(SessionError::NothingInFlight)?;
        let timing = Timing {
            took_ms: now_ms.saturating_sub(started_ms),
            timer_ms: attempt.timeout_ms,
        };
        let sample = self.probation_sample(attempt.route, outcome, now_ms);
        // A route the policy in force no longer declares has no breaker to feed and blames
        // nothing; the call still goes on, so that is not the caller's concern.
        let blamed = self.router.record_attempt(
            self.request.call_id,
            attempt.route,
            outcome,
            now_ms,
            timing,
        );
        let baseline = match blamed {
            Some((_, version, false)) if version == self.policy_version => {
                Some(!outcome.is_connected())
            }
            _ => None,
        };
        self.router
            .note_probation(self.policy_version, baseline, sample, now_ms);
        if outcome.is_connected() {
            self.end = Some(Done::Connected);
            return Ok(());
        }
        self.failed.push(attempt.route);
        if !self.call_failed.contains(&attempt.route) {
            self.call_failed.push(attempt.route);
        }
        if let Some((blamed, version, _)) = blamed {
            if version == self.policy_version {
                if let Some(index) = self.router.policy().route_index(attempt.route) {
                    let timed_out = outcome == Outcome::TimedOut;
                    let slowly = timing.took_ms >= self.router.policy().redial_backoff_ms;
                    self.timed_out.set(index, timed_out);
                    self.failed_slowly.set(index, !timed_out && slowly);
                }
                for c in blamed.iter() {
                    let b = &mut self.blame[c.0 as usize % MAX_COMPONENTS];
                    *b = b.saturating_add(1);
                }
            }
        }
        Ok(())
    }

    /// What an attempt on `route` ending in `outcome` says about the policy it was planned
    /// under, if that policy is on probation (see [`crate::probation`]).
    fn probation_sample(
        &mut self,
        route: RouteId,
        outcome: Outcome,
        now_ms: u64,
    ) -> Option<Sample> {
        let version = self.policy_version;
        if self.router.shared.on_probation.load(Ordering::Acquire) != version {
            return None;
        }
        let choice = self
            .router
            .predecessor_choice(&self.request, &self.call_failed, now_ms)?;
        let first_of_call = self.judged_version != version;
        let sample = Sample::of(route, choice, !outcome.is_connected(), first_of_call);
        if let Sample::Judged { .. } = sample {
            self.judged_version = version;
        }
        Some(sample)
    }

    fn finish(&mut self, done: Done) -> Next {
        self.end = Some(done);
        Next::Done(done)
    }
}

// ---------------------------------------------------------------------------------------------
// Probation (see `crate::probation`): the router's side.

impl Router {
    /// Where the latest policy change stands: on probation, kept, or rolled back by the router
    /// itself (with the evidence and the reason). A status whose state is `RolledBack` is the
    /// event an audit trail records.
    ///
    /// ```
    /// use sosroute::{Policy, Router};
    /// use sosroute::ProbationState;
    /// let router = Router::new(Policy::us_default());
    /// assert_eq!(router.probation().state, ProbationState::None);
    /// router.set_policy(Policy::us_default());
    /// let status = router.probation();
    /// assert_eq!((status.state, status.candidate_version), (ProbationState::OnProbation, 2));
    /// ```
    pub fn probation(&self) -> ProbationStatus {
        let now_ms = self.shared.current.load().clock_ms;
        self.shared.probation.lock().status(now_ms)
    }

    /// Puts the policy just installed on probation against `predecessor` (called with the
    /// writer lock held, so no other policy can come in between).
    fn begin_probation(&self, predecessor: &Policy) {
        let current = self.shared.current.load();
        let candidate = &current.policy;
        let mut tracker = self.shared.probation.lock();
        tracker.start(
            (candidate.version(), candidate.hash()),
            (predecessor.version(), predecessor.hash()),
            candidate.probation,
            current.clock_ms,
        );
        let on = tracker.on_probation().unwrap_or(0);
        self.shared.on_probation.store(on, Ordering::Release);
    }

    /// The predecessor's first choice for `request` now, skipping `failed` (see
    /// [`probation::predecessor_choice`]); `None` if no policy is on probation any more.
    fn predecessor_choice(
        &self,
        request: &CallRequest,
        failed: &[RouteId],
        now_ms: u64,
    ) -> Option<Option<(RouteId, bool)>> {
        let predecessor = Arc::clone(self.shared.writer.lock().history.last()?);
        let current = self.shared.current.load();
        Some(probation::predecessor_choice(
            &current.snapshot,
            &current.policy,
            &predecessor,
            request,
            failed,
            now_ms,
        ))
    }

    /// Feeds probation one reported attempt and, if it calls for it, restores the predecessor.
    fn note_probation(
        &self,
        version: u64,
        baseline: Option<bool>,
        sample: Option<Sample>,
        now_ms: u64,
    ) {
        let verdict = {
            let mut tracker = self.shared.probation.lock();
            let verdict = tracker.note(version, baseline, sample, now_ms);
            // A probation whose period ran out, or whose rollback is under way, takes no more.
            let on = tracker.on_probation().unwrap_or(0);
            self.shared.on_probation.store(on, Ordering::Release);
            verdict
        };
        let Some(reason) = verdict else {
            return;
        };
        let mut writer = self.shared.writer.lock();
        let restored = if self.shared.current.load().policy.version() == version {
            writer.history.pop().map(|previous| {
                let policy = Arc::try_unwrap(previous).unwrap_or_else(|shared| (*shared).clone());
                self.install(&mut writer, policy)
            })
        } else {
            None
        };
        let mut tracker = self.shared.probation.lock();
        match restored {
            Some(restored) => {
                tracker.rolled_back(restored, reason, now_ms);
                // The whole event: both versions and hashes, the tallies, the reason.
                self.shared.audit.probation(&tracker.status(now_ms));
            }
            None => tracker.rollback_failed(),
        }
        let on = tracker.on_probation().unwrap_or(0);
        self.shared.on_probation.store(on, Ordering::Release);
    }
}
