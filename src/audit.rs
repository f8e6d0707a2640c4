//! The audit trail: every policy change, observation batch, plan, attempt and outcome as one
//! JSON line, and the replay that re-derives every recorded decision from those lines.
//!
//! # How records travel
//!
//! A decision must not block or allocate, and an embedder's sink (a file, a socket, a logging
//! daemon) may stall. So the two are decoupled by a bounded queue allocated once, when a sink is
//! attached ([`crate::Router::attach_audit`]):
//!
//! - the router **pushes** a fixed-size binary event (no heap data, no lock: a lock-free ring)
//!   from the decision path and, under the writer lock it already holds, from the update path;
//!   when the ring is full the event is **dropped and counted** ([`crate::Router::audit_dropped`]);
//! - the embedder **drains** ([`crate::Router::drain_audit`]) from a thread of its own choosing:
//!   events are serialised to JSON and handed to the sink, one line each. Draining is the only
//!   place that allocates or waits on the sink. Nothing runs in the background, so a test, a C
//!   host with its own threads and a simulator all see the same log for the same calls.
//!
//! # What a log holds, and why it re-derives
//!
//! The planner reads the request, `now`, the policy and the state snapshot (facts, breakers,
//! setup needs); a call session adds what failed earlier in the call (see
//! [`crate::planner::Constraints`]). A plan record holds the request, `now`, the session's
//! constraints, the policy version and hash, the epoch of the snapshot it read, and the plan
//! made. The snapshot itself (about 9 KB) is not copied per decision: the log is
//! event-sourced. It starts with a `checkpoint` (the whole snapshot and the policy's canonical
//! JSON), and every change to the state after it is a record of its own — a `policy` change, an
//! `updates` batch, an attempt's `outcome` — carrying the epoch (or policy version) it leads to.
//! [`replay`] rebuilds the state record by record with the same functions the router uses, and
//! re-plans each decision with [`crate::planner::plan`] on the snapshot it read.
//!
//! State records are queued before the state they describe is published, so every plan comes
//! after the state it read. When a state record is dropped the log has a hole: the next
//! [`crate::Router::drain_audit`] writes a new checkpoint, and [`replay`] reports the decisions
//! it cannot rebuild between the hole and the checkpoint as *unverifiable*, never as matching.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_queue::ArrayQueue;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use thiserror::Error;

use crate::identity::{canonical_json, PolicyHash};
use crate::observation::{ComponentId, Outcome, PsapState};
use crate::plan::{Attempt, LeftOut, LeftOutReason, Plan, Reason};
use crate::planner::{self, Constraints};
use crate::policy::{Policy, PolicyFormat, MAX_COMPONENTS};
use crate::probation::ProbationStatus;
use crate::request::CallRequest;
use crate::route::{Capabilities, Media, RouteId, RouteKind, RouteSet, MAX_ROUTES};
use crate::state::{Evidence, Snapshot, Timing, Update};

/// Where audit lines go: a file, a socket, a logger. Each call gets one JSON object, without a
/// line break (add one to write JSON lines). Called only from [`crate::Router::drain_audit`], on
/// the draining thread, so it may block and allocate.
///
/// Any `FnMut(&[u8]) + Send` closure is a sink.
pub trait AuditSink: Send {
    /// Takes one record.
    fn write(&mut self, line: &[u8]);
}

impl<F: FnMut(&[u8]) + Send> AuditSink for F {
    fn write(&mut self, line: &[u8]) {
        self(line)
    }
}

/// Ring size a host gets unless it picks one: about 1 MB of events, enough for a few seconds
/// of a PSAP's busiest hour between drains.
pub const DEFAULT_AUDIT_CAPACITY: usize = 1024;
/// The largest ring [`crate::Router::attach_audit`] accepts (about 63 MB of events).
pub const MAX_AUDIT_CAPACITY: usize = 1 << 16;
/// Updates per `updates` event; a larger batch takes several events, the last marked `last`.
const CHUNK: usize = 8;

/// A sink could not be attached; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The ring capacity is out of range.
    #[error("audit capacity {capacity} is out of range 1..={MAX_AUDIT_CAPACITY}")]
    Capacity {
        /// The capacity asked for.
        capacity: usize,
    },
    /// A ring of another size was allocated by an earlier attach.
    #[error(
        "this router's audit ring holds {fixed} records since its first sink was attached; \
         {capacity} was asked for"
    )]
    CapacityFixed {
        /// The capacity asked for.
        capacity: usize,
        /// The capacity of the ring.
        fixed: usize,
    },
}

/// A session's part of a decision: the constraints the planner was given.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionInputs {
    remaining_ms: Option<u64>,
    failed: SmallVec<[RouteId; MAX_ROUTES]>,
    blame: [u8; MAX_COMPONENTS],
    tried_ms: [u32; MAX_ROUTES],
    timed_out: RouteSet,
    failed_slowly: RouteSet,
    delay_ms: u64,
}

/// A decision as queued: inputs and result, no heap data. Written in place into its slot.
/// In declaration order (`repr(C)`): what every decision writes first and together, then the
/// attempts, the routes left out, and a session's constraints last, so a plan without a session
/// touches as few cache lines as its attempts need.
#[derive(Debug, Clone)]
#[repr(C)]
pub(crate) struct PlanEvent {
    request: CallRequest,
    now_ms: u64,
    epoch: u64,
    policy_version: u64,
    policy_hash: PolicyHash,
    psap_state: Option<PsapState>,
    attempts_len: u8,
    left_out_len: u8,
    fail_open: bool,
    /// Whether `session` holds a call session's constraints.
    in_session: bool,
    attempts: [QueuedAttempt; MAX_ROUTES],
    left_out: [QueuedLeftOut; MAX_ROUTES],
    session: SessionInputs,
}

/// An [`Attempt`] as queued: 16 bytes instead of 40 (enums as one-byte codes, timers as `u32`
/// milliseconds), so a burst of decisions between drains touches fewer cache lines. A timer
/// never exceeds the budget (at most one day, 8.64e7 ms), so `u32` holds it exactly; were it
/// ever cut, replay would report the decision as differing, never as matching.
#[derive(Debug, Clone, Copy)]
struct QueuedAttempt {
    timeout_ms: u32,
    delay_ms: u32,
    route: RouteId,
    /// The blamed component's id, [`QueuedAttempt::NO_COMPONENT`] for none.
    blamed: u16,
    kind: u8,
    media: u8,
    reason: u8,
    /// The evidence's code; bit 7: `needs_user_action`.
    evidence: u8,
}

/// A [`LeftOut`] as queued: 8 bytes instead of 12.
#[derive(Debug, Clone, Copy)]
struct QueuedLeftOut {
    missing: Capabilities,
    route: RouteId,
    reason: u8,
}

/// An enum's value as a one-byte code (every public enum here has values below 256).
fn code(value: u32) -> u8 {
    value as u8
}

/// The value of `all` whose code is `code`. Codes come only from [`code`] on one of `all`.
fn decode<T: Copy>(all: &[T], code_of: impl Fn(T) -> u32, code: u8) -> T {
    *all.iter()
        .find(|v| code_of(**v) == u32::from(code))
        .expect("a code written from one of these values")
}

const NEEDS_USER_ACTION: u8 = 0x80;

impl QueuedAttempt {
    const NO_COMPONENT: u16 = u16::MAX;
    const EMPTY: QueuedAttempt = QueuedAttempt {
        timeout_ms: 0,
        delay_ms: 0,
        route: RouteId(0),
        blamed: QueuedAttempt::NO_COMPONENT,
        kind: 0,
        media: 0,
        reason: 0,
        evidence: 0,
    };

    #[inline]
    fn new(a: &Attempt) -> QueuedAttempt {
        QueuedAttempt {
            timeout_ms: u32::try_from(a.timeout_ms).unwrap_or(u32::MAX),
            delay_ms: u32::try_from(a.delay_ms).unwrap_or(u32::MAX),
            route: a.route,
            blamed: a.blamed.map_or(QueuedAttempt::NO_COMPONENT, |c| c.0),
            kind: code(a.kind as u32),
            media: code(a.media as u32),
            reason: code(a.reason as u32),
            evidence: code(a.evidence as u32)
                | if a.needs_user_action {
                    NEEDS_USER_ACTION
                } else {
                    0
                },
        }
    }

    fn attempt(&self) -> Attempt {
        Attempt {
            route: self.route,
            kind: decode(&RouteKind::ALL, |k| k as u32, self.kind),
            media: decode(&Media::ALL, |m| m as u32, self.media),
            timeout_ms: u64::from(self.timeout_ms),
            delay_ms: u64::from(self.delay_ms),
            needs_user_action: self.evidence & NEEDS_USER_ACTION != 0,
            reason: decode(&Reason::ALL, |r| r as u32, self.reason),
            evidence: decode(
                &Evidence::ALL,
                |e| e as u32,
                self.evidence & !NEEDS_USER_ACTION,
            ),
            blamed: (self.blamed != QueuedAttempt::NO_COMPONENT)
                .then_some(ComponentId(self.blamed)),
        }
    }
}

impl QueuedLeftOut {
    const EMPTY: QueuedLeftOut = QueuedLeftOut {
        missing: Capabilities::NONE,
        route: RouteId(0),
        reason: 0,
    };

    #[inline]
    fn new(l: &LeftOut) -> QueuedLeftOut {
        QueuedLeftOut {
            missing: l.missing,
            route: l.route,
            reason: code(l.reason as u32),
        }
    }

    fn left_out(&self) -> LeftOut {
        LeftOut {
            route: self.route,
            reason: decode(&LeftOutReason::ALL, |r| r as u32, self.reason),
            missing: self.missing,
        }
    }
}

/// One queued record. Only [`Event::Checkpoint`], [`Event::Policy`] and [`Event::Probation`] own heap data, and all
/// are queued off the decision path.
// Variants of different sizes on purpose: an event lives in a pre-allocated slot, and boxing the
// large ones would allocate on the update path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Event {
    Checkpoint(Box<(Snapshot, Arc<Policy>)>),
    Policy {
        policy: Arc<Policy>,
        epoch: u64,
    },
    Updates {
        epoch: u64,
        policy_version: u64,
        len: u8,
        last: bool,
        updates: [Update; CHUNK],
    },
    Rejected {
        epoch: u64,
    },
    Outcome(OutcomeEvent),
    Probation(Box<ProbationStatus>),
    /// A decision: the slot's [`PlanEvent`].
    Plan,
}

/// How a call session's attempt ended, and the state it leads to.
#[derive(Debug)]
pub(crate) struct OutcomeEvent {
    call_id: u64,
    route: RouteId,
    outcome: Outcome,
    at_ms: u64,
    timing: Timing,
    epoch: u64,
    policy_version: u64,
}

/// One pre-allocated record: an event, and the decision when it is one (kept apart so a
/// decision is written field by field into its slot instead of moved whole). A slot that is
/// not queued holds [`Event::Plan`], so a decision writes only `plan`.
#[derive(Debug)]
#[repr(C, align(64))]
struct Slot {
    plan: PlanEvent,
    event: Event,
}

/// The bounded queue: slots allocated once, passed by owner between two lock-free queues. A
/// record takes a free slot (none free: dropped), is written in place by the thread that owns
/// the slot now, and joins the ready queue in order; a drain serialises ready slots and puts
/// them back. Two atomic operations per record, no lock, and only a pointer moves.
///
/// Free slots are kept in two queues: up to [`HOT_SLOTS`] recently drained ones, taken first,
/// and the rest. A FIFO of all of them would hand out the slot used longest ago, cold in cache
/// (a slot is 960 bytes, of which a decision with 8 attempts writes four cache lines): with a
/// drain that keeps up, records cycle through a few hot slots, and the rest of the ring absorbs
/// bursts.
struct Ring {
    capacity: usize,
    hot: ArrayQueue<Box<Slot>>,
    free: ArrayQueue<Box<Slot>>,
    ready: ArrayQueue<Box<Slot>>,
}

/// Free slots reused first (see [`Ring`]): 64 slots, 60 KB, fit in a core's L2 cache.
const HOT_SLOTS: usize = 64;

impl Ring {
    fn new(capacity: usize) -> Ring {
        let request = CallRequest::new(0, "911", crate::route::Media::Voice, Default::default(), 0)
            .expect("911 is an emergency number");
        let slot = || {
            Box::new(Slot {
                event: Event::Plan,
                plan: PlanEvent {
                    request,
                    now_ms: 0,
                    epoch: 0,
                    policy_version: 0,
                    policy_hash: PolicyHash([0; 32]),
                    in_session: false,
                    session: SessionInputs::default(),
                    attempts_len: 0,
                    left_out_len: 0,
                    fail_open: false,
                    psap_state: None,
                    attempts: [QueuedAttempt::EMPTY; MAX_ROUTES],
                    left_out: [QueuedLeftOut::EMPTY; MAX_ROUTES],
                },
            })
        };
        let ring = Ring {
            capacity,
            hot: ArrayQueue::new(capacity.min(HOT_SLOTS)),
            free: ArrayQueue::new(capacity),
            ready: ArrayQueue::new(capacity),
        };
        for _ in 0..capacity {
            ring.put_back(slot());
        }
        ring
    }

    /// Returns a slot to the free ones, hot first.
    fn put_back(&self, slot: Box<Slot>) {
        if let Err(slot) = self.hot.push(slot) {
            // The queues hold every slot between them: no push fails.
            let _ = self.free.push(slot);
        }
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    /// A free slot, hot first. A queue is asked only when it does not look empty: popping an
    /// empty `ArrayQueue` costs a sequentially consistent fence, which a burst past the hot
    /// slots would pay on every record, and a full ring twice per record. (A stale look is
    /// harmless: a slot is then taken from the other queue, or the pop fails.)
    #[inline]
    fn take(&self) -> Option<Box<Slot>> {
        if !self.hot.is_empty() {
            if let Some(slot) = self.hot.pop() {
                return Some(slot);
            }
        }
        if self.free.is_empty() {
            None
        } else {
            self.free.pop()
        }
    }

    /// Writes a record into a free slot with `write` and queues it; `false` if no slot is free.
    #[inline]
    fn push(&self, write: impl FnOnce(&mut Slot)) -> bool {
        let Some(mut slot) = self.take() else {
            return false;
        };
        write(&mut slot);
        // Every slot is in at most one queue, and each holds them all: no push fails.
        let _ = self.ready.push(slot);
        true
    }
}

/// The router's end of the audit trail: the ring, the counters and the sink.
#[derive(Default)]
pub(crate) struct Trail {
    ring: OnceLock<Ring>,
    on: AtomicBool,
    dropped: AtomicU64,
    /// A state record was dropped: the next drain writes a checkpoint.
    state_lost: AtomicBool,
    drain: Mutex<Drain>,
}

#[derive(Default)]
struct Drain {
    sink: Option<Box<dyn AuditSink>>,
    /// Drops already reported in the log.
    reported: u64,
    line: Vec<u8>,
}

impl fmt::Debug for Trail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trail")
            .field("on", &self.on)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Trail {
    /// The ring, if a sink is attached.
    #[inline]
    fn ring(&self) -> Option<&Ring> {
        if self.on.load(Ordering::Relaxed) {
            self.ring.get()
        } else {
            None
        }
    }

    /// Whether a sink is attached.
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Queues a state record, or counts it dropped and asks the next drain for a checkpoint.
    fn push_state(&self, event: Event) {
        if let Some(ring) = self.ring() {
            self.push_state_to(ring, event);
        }
    }

    fn push_state_to(&self, ring: &Ring, event: Event) {
        if !ring.push(|slot| slot.event = event) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.state_lost.store(true, Ordering::Release);
        }
    }

    /// Sets the sink and turns recording on, with `checkpoint` (the state at this moment, taken
    /// under the writer lock by the caller) as the first record.
    pub(crate) fn attach(
        &self,
        sink: Box<dyn AuditSink>,
        capacity: usize,
        checkpoint: (Snapshot, Arc<Policy>),
    ) -> Result<(), AuditError> {
        if capacity == 0 || capacity > MAX_AUDIT_CAPACITY {
            return Err(AuditError::Capacity { capacity });
        }
        let ring = self.ring.get_or_init(|| Ring::new(capacity));
        if ring.capacity() != capacity {
            return Err(AuditError::CapacityFixed {
                capacity,
                fixed: ring.capacity(),
            });
        }
        let mut drain = self.drain.lock();
        drain.sink = Some(sink);
        // Room for the checkpoint: records of an earlier sink that were never drained go.
        if ring.hot.is_empty() && ring.free.is_empty() {
            while let Some(mut slot) = ring.ready.pop() {
                slot.event = Event::Plan;
                ring.put_back(slot);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.push_state_to(ring, Event::Checkpoint(Box::new(checkpoint)));
        self.on.store(true, Ordering::Release);
        Ok(())
    }

    /// Stops recording; what is queued stays for a last drain. Returns the sink.
    pub(crate) fn detach(&self) -> Option<Box<dyn AuditSink>> {
        self.on.store(false, Ordering::Release);
        self.drain.lock().sink.take()
    }

    /// Records dropped since the router was created.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Hands every queued record to the sink; then, if a state record was lost, a checkpoint
    /// from `checkpoint`. Returns the number of lines written.
    pub(crate) fn drain(&self, checkpoint: impl FnOnce() -> (Snapshot, Arc<Policy>)) -> usize {
        let Some(ring) = self.ring.get() else {
            return 0;
        };
        let mut guard = self.drain.lock();
        let drain = &mut *guard;
        let Some(sink) = drain.sink.as_mut() else {
            return 0;
        };
        let mut written = 0;
        // What is queued now, not what keeps arriving: a drain ends even under a storm.
        for _ in 0..ring.ready.len() {
            let Some(mut slot) = ring.ready.pop() else {
                break;
            };
            // Let go of a checkpoint's or policy's heap data now, not at the slot's reuse.
            let event = std::mem::replace(&mut slot.event, Event::Plan);
            write_line(&mut drain.line, &line(&event, &slot.plan));
            ring.put_back(slot);
            sink.write(&drain.line);
            written += 1;
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped != drain.reported {
            write_line(
                &mut drain.line,
                &Line::Dropped {
                    dropped: dropped - drain.reported,
                    total: dropped,
                },
            );
            sink.write(&drain.line);
            drain.reported = dropped;
            written += 1;
        }
        if self.on.load(Ordering::Acquire) && self.state_lost.swap(false, Ordering::Acquire) {
            let (snapshot, policy) = checkpoint();
            write_line(&mut drain.line, &checkpoint_line(&snapshot, &policy));
            sink.write(&drain.line);
            written += 1;
        }
        written
    }

    /// Records a decision: `plan`, made with `session`'s constraints if it is a call session's.
    #[inline]
    pub(crate) fn plan(&self, plan: &Plan, session: Option<(&Constraints<'_>, u64)>) {
        if self.is_on() {
            self.record_plan(plan, session);
        }
    }

    /// [`Trail::plan`] with a sink attached: out of line, so a router without a sink decides
    /// exactly as before.
    #[inline(never)]
    fn record_plan(&self, plan: &Plan, session: Option<(&Constraints<'_>, u64)>) {
        if let Some(ring) = self.ring() {
            let queued = ring.push(|slot| {
                debug_assert!(
                    matches!(slot.event, Event::Plan),
                    "a free slot holds a plan"
                );
                slot.plan.fill(plan, session);
            });
            if !queued {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A recorder for the batch that leads to `epoch` under policy `policy_version`.
    pub(crate) fn batch(&self, epoch: u64, policy_version: u64) -> Batch<'_> {
        Batch {
            trail: self,
            epoch,
            policy_version,
            len: 0,
            sent: false,
            updates: [PLACEHOLDER_UPDATE; CHUNK],
        }
    }

    /// Records a policy install; `epoch` is the state's (an install does not change it).
    pub(crate) fn policy(&self, policy: &Arc<Policy>, epoch: u64) {
        if self.is_on() {
            self.push_state(Event::Policy {
                policy: Arc::clone(policy),
                epoch,
            });
        }
    }

    /// Records what probation decided (a rollback), off the decision path.
    pub(crate) fn probation(&self, status: &ProbationStatus) {
        if self.is_on() {
            self.push_state(Event::Probation(Box::new(status.clone())));
        }
    }

    /// Records a call session's attempt outcome, which leads to `epoch`.
    pub(crate) fn outcome(
        &self,
        call_id: u64,
        route: RouteId,
        outcome: Outcome,
        at_ms: u64,
        timing: Timing,
        (epoch, policy_version): (u64, u64),
    ) {
        if self.is_on() {
            self.push_state(Event::Outcome(OutcomeEvent {
                call_id,
                route,
                outcome,
                at_ms,
                timing,
                epoch,
                policy_version,
            }));
        }
    }
}

const PLACEHOLDER_UPDATE: Update = Update::Outcome {
    route: RouteId(0),
    outcome: Outcome::TimedOut,
    at_ms: 0,
};

/// Records a batch of updates as it is applied, in chunks, without allocating.
pub(crate) struct Batch<'a> {
    trail: &'a Trail,
    epoch: u64,
    policy_version: u64,
    len: usize,
    sent: bool,
    updates: [Update; CHUNK],
}

impl Batch<'_> {
    /// An update that applied.
    pub(crate) fn push(&mut self, update: Update) {
        if !self.trail.is_on() {
            return;
        }
        if self.len == CHUNK {
            self.send(false);
        }
        self.updates[self.len] = update;
        self.len += 1;
    }

    fn send(&mut self, last: bool) {
        self.trail.push_state(Event::Updates {
            epoch: self.epoch,
            policy_version: self.policy_version,
            len: self.len as u8,
            last,
            updates: self.updates,
        });
        self.len = 0;
        self.sent = true;
    }

    /// The batch applied: the last chunk.
    pub(crate) fn finish(mut self) {
        if self.trail.is_on() {
            self.send(true);
        }
    }

    /// The batch was refused: replay forgets the chunks already sent.
    pub(crate) fn reject(self) {
        if self.sent {
            self.trail.push_state(Event::Rejected { epoch: self.epoch });
        }
    }
}

impl PlanEvent {
    /// Overwrites this record with `plan`, copying only the attempts and routes it has.
    #[inline]
    fn fill(&mut self, plan: &Plan, session: Option<(&Constraints<'_>, u64)>) {
        self.request = plan.request;
        self.now_ms = plan.made_at_ms;
        self.epoch = plan.epoch;
        self.policy_version = plan.policy_version();
        self.policy_hash = plan.policy().hash();
        self.in_session = session.is_some();
        if let Some((c, delay_ms)) = session {
            let s = &mut self.session;
            s.remaining_ms = c.remaining_ms;
            s.failed.clear();
            s.failed.extend_from_slice(c.failed);
            s.blame = c.blame;
            s.tried_ms = c.tried_ms;
            s.timed_out = c.timed_out;
            s.failed_slowly = c.failed_slowly;
            s.delay_ms = delay_ms;
        }
        // A plan has at most one attempt or left-out entry per route of the policy.
        self.attempts_len = plan.attempts.len() as u8;
        for (record, a) in self.attempts.iter_mut().zip(&plan.attempts) {
            *record = QueuedAttempt::new(a);
        }
        self.left_out_len = plan.left_out.len() as u8;
        for (record, l) in self.left_out.iter_mut().zip(&plan.left_out) {
            *record = QueuedLeftOut::new(l);
        }
        self.fail_open = plan.fail_open;
        self.psap_state = plan.psap_state;
    }
}

fn write_line(buffer: &mut Vec<u8>, line: &Line) {
    buffer.clear();
    serde_json::to_writer(&mut *buffer, line)
        .expect("audit lines serialise: no map has non-string keys");
}

/// A call session's constraints, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLine {
    /// Budget left when the attempt was planned.
    pub remaining_ms: Option<u64>,
    /// Routes that failed earlier in this walk of the list.
    pub failed: Vec<RouteId>,
    /// Failures earlier in the call that blamed each component, by id.
    pub blame: [u8; MAX_COMPONENTS],
    /// Timer of the latest attempt at each route earlier in the call, by policy index.
    pub tried_ms: [u32; MAX_ROUTES],
    /// Routes whose latest attempt in the call timed out: bit `i` for policy index `i`.
    #[serde(default)]
    pub timed_out: u32,
    /// Routes whose latest attempt in the call failed slowly (not a timeout, but after the
    /// redial backoff or longer): bit `i` for policy index `i`.
    #[serde(default)]
    pub failed_slowly: u32,
    /// The redial backoff the attempt was handed out with (`now_ms` already includes it).
    pub delay_ms: u64,
}

/// One audit line. `record` names the kind.
// One line at a time is built, off the decision path: the size of the largest variant is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Line {
    /// The whole state and the policy in force: where replay starts, and starts again after a
    /// hole in the log.
    Checkpoint {
        /// Version of the policy in force.
        policy_version: u64,
        /// Its hash.
        policy_hash: PolicyHash,
        /// The state's epoch.
        epoch: u64,
        /// The policy's canonical JSON.
        policy: serde_json::Value,
        /// The state.
        snapshot: Box<Snapshot>,
    },
    /// A policy was installed (loaded, set or rolled back to); the state carried over.
    Policy {
        /// The version it was installed as.
        policy_version: u64,
        /// Its hash.
        policy_hash: PolicyHash,
        /// The state's epoch (an install does not change it).
        epoch: u64,
        /// The policy's canonical JSON.
        policy: serde_json::Value,
    },
    /// Updates of a batch that leads to `epoch`, in order; the batch ends at `last`.
    Updates {
        /// The epoch the batch publishes.
        epoch: u64,
        /// The policy the batch was checked against.
        policy_version: u64,
        /// Whether this is the batch's last chunk.
        last: bool,
        /// The updates (observations and outcomes reported outside a call session).
        updates: Vec<Update>,
    },
    /// The batch leading to `epoch` was refused: its chunks logged so far do not count.
    Rejected {
        /// The epoch it would have published.
        epoch: u64,
    },
    /// Probation decided a policy change: the rollback (the restoring `policy` record comes
    /// just before), with both policies, the evidence and the reason.
    Probation {
        /// What probation decided and why.
        status: ProbationStatus,
    },
    /// How an attempt of a call session ended; leads to `epoch`.
    Outcome {
        /// The call.
        call_id: u64,
        /// The route attempted.
        route: RouteId,
        /// How it ended.
        #[serde(flatten)]
        outcome: Outcome,
        /// When it ended.
        at_ms: u64,
        /// How long the attempt took.
        took_ms: u64,
        /// The timer it ran under.
        timer_ms: u64,
        /// The epoch it publishes.
        epoch: u64,
        /// The policy the route id belongs to.
        policy_version: u64,
    },
    /// A decision: `Router::plan`, or a call session's attempt (with `session`).
    Plan {
        /// The request.
        request: CallRequest,
        /// `now` the planner was given.
        now_ms: u64,
        /// Epoch of the state it read.
        epoch: u64,
        /// Version of the policy it read.
        policy_version: u64,
        /// That policy's hash.
        policy_hash: PolicyHash,
        /// A call session's constraints; absent for `Router::plan`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<SessionLine>,
        /// The attempts, best first (a session dials the first).
        attempts: Vec<Attempt>,
        /// Routes left out.
        left_out: Vec<LeftOut>,
        /// Whether every attempt had evidence against it.
        fail_open: bool,
        /// The PSAP's fresh i3 state.
        psap_state: Option<PsapState>,
    },
    /// Records were dropped because the sink fell behind.
    Dropped {
        /// Since the previous `dropped` line.
        dropped: u64,
        /// Since the router was created.
        total: u64,
    },
}

fn policy_json(policy: &Policy) -> serde_json::Value {
    serde_json::from_str(&canonical_json(policy.spec()))
        .expect("the canonical JSON of a policy is JSON")
}

/// The line of a queued record (`plan`: the slot's decision, read when `event` is one).
fn line(event: &Event, plan: &PlanEvent) -> Line {
    {
        match event {
            Event::Checkpoint(c) => checkpoint_line(&c.0, &c.1),
            Event::Policy { policy, epoch } => Line::Policy {
                policy_version: policy.version(),
                policy_hash: policy.hash(),
                epoch: *epoch,
                policy: policy_json(policy),
            },
            Event::Updates {
                epoch,
                policy_version,
                len,
                last,
                updates,
            } => Line::Updates {
                epoch: *epoch,
                policy_version: *policy_version,
                last: *last,
                updates: updates[..usize::from(*len)].to_vec(),
            },
            Event::Rejected { epoch } => Line::Rejected { epoch: *epoch },
            Event::Probation(status) => Line::Probation {
                status: (**status).clone(),
            },
            Event::Outcome(o) => Line::Outcome {
                call_id: o.call_id,
                route: o.route,
                outcome: o.outcome,
                at_ms: o.at_ms,
                took_ms: o.timing.took_ms,
                timer_ms: o.timing.timer_ms,
                epoch: o.epoch,
                policy_version: o.policy_version,
            },
            Event::Plan => Line::Plan {
                request: plan.request,
                now_ms: plan.now_ms,
                epoch: plan.epoch,
                policy_version: plan.policy_version,
                policy_hash: plan.policy_hash,
                session: plan.in_session.then(|| {
                    let s = &plan.session;
                    SessionLine {
                        remaining_ms: s.remaining_ms,
                        failed: s.failed.to_vec(),
                        blame: s.blame,
                        tried_ms: s.tried_ms,
                        timed_out: s.timed_out.bits(),
                        failed_slowly: s.failed_slowly.bits(),
                        delay_ms: s.delay_ms,
                    }
                }),
                attempts: plan.attempts[..usize::from(plan.attempts_len)]
                    .iter()
                    .map(QueuedAttempt::attempt)
                    .collect(),
                left_out: plan.left_out[..usize::from(plan.left_out_len)]
                    .iter()
                    .map(QueuedLeftOut::left_out)
                    .collect(),
                fail_open: plan.fail_open,
                psap_state: plan.psap_state,
            },
        }
    }
}

fn checkpoint_line(snapshot: &Snapshot, policy: &Policy) -> Line {
    Line::Checkpoint {
        policy_version: policy.version(),
        policy_hash: policy.hash(),
        epoch: snapshot.epoch,
        policy: policy_json(policy),
        snapshot: Box::new(snapshot.clone()),
    }
}

/// A log [`replay`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A line is not an audit record.
    #[error("line {line}: not an audit record: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What serde_json said.
        reason: String,
    },
    /// A policy in the log does not parse, or does not hash to what the log says.
    #[error("line {line}: policy v{version}: {reason}")]
    Policy {
        /// 1-based line number.
        line: usize,
        /// Its version.
        version: u64,
        /// What is wrong.
        reason: String,
    },
}

/// A decision that re-derived differently.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// 1-based line number of its `plan` record.
    pub line: usize,
    /// The call.
    pub call_id: u64,
    /// The attempts recorded.
    pub recorded: Vec<Attempt>,
    /// The attempts re-derived.
    pub replayed: Vec<Attempt>,
    /// What differs first: `attempts`, `left_out`, `fail_open`, `psap_state` or `epoch`.
    pub field: &'static str,
}

/// What [`replay`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayReport {
    /// Lines read.
    pub lines: usize,
    /// Decisions re-derived identically.
    pub matched: usize,
    /// Decisions that re-derived differently.
    pub mismatches: Vec<Mismatch>,
    /// Decisions whose state the log cannot rebuild (a hole before the next checkpoint, or a
    /// state older than replay keeps), by line number.
    pub unverifiable: Vec<usize>,
    /// State records (updates, outcomes, policies) applied.
    pub state_records: usize,
    /// Checkpoints read.
    pub checkpoints: usize,
    /// Records the router said it dropped (`dropped` lines).
    pub dropped: u64,
    /// With [`replay_call`]: the call's story, one entry per record of it, in log order (each
    /// decision as its re-derived plan's explanation, each outcome with its timing).
    pub story: Vec<String>,
}

impl ReplayReport {
    /// Whether every recorded decision re-derived identically and none was unverifiable.
    pub fn all_match(&self) -> bool {
        self.mismatches.is_empty() && self.unverifiable.is_empty()
    }
}

/// States replay keeps for decisions that read a state older than the latest: a decision made
/// while a writer published is logged after that writer's record.
const KEPT_STATES: usize = 64;

/// A state and the policy it was made under.
type State = (Snapshot, Arc<Policy>);

/// Replay's reconstruction of the router's state.
struct Rebuilt {
    /// (policy version, epoch) → state, newest last.
    states: VecDeque<((u64, u64), Arc<State>)>,
    /// Updates of the batch being read.
    batch: Vec<Update>,
    /// A state record is missing since the latest checkpoint.
    broken: bool,
}

impl Rebuilt {
    fn latest(&self) -> Option<&(Snapshot, Arc<Policy>)> {
        self.states.back().map(|(_, s)| &**s)
    }

    fn push(&mut self, snapshot: Snapshot, policy: Arc<Policy>) {
        if self.states.len() == KEPT_STATES {
            self.states.pop_front();
        }
        self.states.push_back((
            (policy.version(), snapshot.epoch),
            Arc::new((snapshot, policy)),
        ));
    }

    fn find(&self, version: u64, epoch: u64) -> Option<&(Snapshot, Arc<Policy>)> {
        self.states
            .iter()
            .rev()
            .find(|(k, _)| *k == (version, epoch))
            .map(|(_, s)| &**s)
    }

    /// The state a record leading to (`version`, `epoch`) applies to, if the log is whole.
    fn next_of(&mut self, version: u64, epoch: u64) -> Option<(Snapshot, Arc<Policy>)> {
        if self.broken {
            return None;
        }
        let whole =
            matches!(self.latest(), Some((s, p)) if p.version() == version && s.epoch + 1 == epoch);
        if !whole {
            // Already in a checkpoint taken after a hole, or a hole itself.
            let covered =
                matches!(self.latest(), Some((s, p)) if (version, epoch) <= (p.version(), s.epoch));
            self.broken = !covered;
            return None;
        }
        self.latest().cloned()
    }
}

/// A policy from its canonical JSON in a log, checked against the hash the log gives.
fn logged_policy(
    json: &serde_json::Value,
    version: u64,
    hash: PolicyHash,
    line: usize,
) -> Result<Arc<Policy>, ReplayError> {
    let failure = |reason: String| ReplayError::Policy {
        line,
        version,
        reason,
    };
    let mut policy =
        Policy::parse(&json.to_string(), PolicyFormat::Json).map_err(|e| failure(e.to_string()))?;
    if policy.hash() != hash {
        return Err(failure(format!(
            "its text hashes to {}, the log says {hash}",
            policy.hash()
        )));
    }
    policy.set_version(version);
    Ok(Arc::new(policy))
}

/// Re-derives every decision recorded in `log` (JSON lines from [`crate::Router::drain_audit`]):
/// rebuilds the state from the checkpoints and state records, re-plans each decision with
/// [`planner::plan`] on the state it read, and compares the plans field by field.
///
/// ```
/// use sosroute::{CallRequest, Capabilities, Media, Policy, Router};
/// use std::sync::{Arc, Mutex};
///
/// let router = Router::new(Policy::us_default());
/// let log = Arc::new(Mutex::new(Vec::<u8>::new()));
/// let sink = Arc::clone(&log);
/// router.attach_audit(Box::new(move |line: &[u8]| {
///     let mut log = sink.lock().unwrap();
///     log.extend_from_slice(line);
///     log.push(b'\n');
/// }), 64).unwrap();
/// router.plan(&CallRequest::new(1, "911", Media::Voice, Capabilities::NONE, 5).unwrap());
/// router.drain_audit();
/// let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
/// let report = sosroute::audit::replay(&text).unwrap();
/// assert_eq!((report.matched, report.all_match()), (1, true));
/// ```
pub fn replay(log: &str) -> Result<ReplayReport, ReplayError> {
    replay_call(log, None)
}

/// [`replay`], also telling the story of call `call_id` (if given) in
/// [`ReplayReport::story`]: how to investigate one call from its log.
pub fn replay_call(log: &str, call_id: Option<u64>) -> Result<ReplayReport, ReplayError> {
    walk(log, call_id, &mut |_| {})
}

/// A recorded decision with what the planner read, rebuilt from the log: the inputs of
/// [`planner::plan`].
// Its fields are read by `for_each_decision`'s visitor, in the simulator only.
#[cfg_attr(not(feature = "sim"), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct RecordedDecision<'a> {
    /// 1-based line number of its `plan` record.
    pub line: usize,
    /// The request.
    pub request: &'a CallRequest,
    /// `now` the planner was given.
    pub now_ms: u64,
    /// The state it read.
    pub snapshot: &'a Snapshot,
    /// The policy it read.
    pub policy: &'a Arc<Policy>,
    /// A call session's constraints (the defaults for `Router::plan`).
    pub constraints: &'a Constraints<'a>,
}

/// [`replay`], handing every decision whose state the log rebuilds to `visit` (what
/// `sosroute preview-policy --against LOG.jsonl` re-plans under a candidate policy).
#[cfg(feature = "sim")]
pub(crate) fn for_each_decision(
    log: &str,
    visit: &mut dyn FnMut(RecordedDecision<'_>),
) -> Result<ReplayReport, ReplayError> {
    walk(log, None, visit)
}

fn walk(
    log: &str,
    call_id: Option<u64>,
    visit: &mut dyn FnMut(RecordedDecision<'_>),
) -> Result<ReplayReport, ReplayError> {
    let mut report = ReplayReport::default();
    let mut state = Rebuilt {
        states: VecDeque::with_capacity(KEPT_STATES),
        batch: Vec::new(),
        broken: true,
    };
    for (i, text) in log.lines().enumerate() {
        let n = i + 1;
        report.lines = n;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(text).map_err(|e| ReplayError::Malformed {
            line: n,
            reason: e.to_string(),
        })?;
        match line {
            Line::Checkpoint {
                policy_version,
                policy_hash,
                policy,
                snapshot,
                ..
            } => {
                let policy = logged_policy(&policy, policy_version, policy_hash, n)?;
                report.checkpoints += 1;
                state.states.clear();
                state.batch.clear();
                state.broken = false;
                state.push(*snapshot, policy);
            }
            Line::Policy {
                policy_version,
                policy_hash,
                epoch,
                policy,
            } => {
                let new = logged_policy(&policy, policy_version, policy_hash, n)?;
                let whole = !state.broken
                    && matches!(state.latest(), Some((s, p)) if p.version() + 1 == policy_version && s.epoch == epoch);
                if whole {
                    let (snapshot, old) = state.latest().expect("whole implies a state");
                    let next = snapshot.remap(old, &new);
                    state.push(next, new);
                    report.state_records += 1;
                } else if !matches!(state.latest(), Some((_, p)) if policy_version <= p.version()) {
                    state.broken = true;
                }
            }
            Line::Updates {
                epoch,
                policy_version,
                last,
                updates,
            } => {
                state.batch.extend_from_slice(&updates);
                if last {
                    let batch = std::mem::take(&mut state.batch);
                    if let Some((mut snapshot, policy)) = state.next_of(policy_version, epoch) {
                        let mut ok = true;
                        for (index, u) in batch.iter().enumerate() {
                            ok &= snapshot.apply(u, index, &policy).is_ok();
                        }
                        if ok {
                            snapshot.epoch = epoch;
                            state.push(snapshot, policy);
                            report.state_records += 1;
                        } else {
                            // The router applied what replay refuses: replay cannot go on.
                            state.broken = true;
                        }
                    }
                }
            }
            Line::Rejected { .. } => state.batch.clear(),
            Line::Probation { status } => {
                if call_id.is_some() {
                    report.story.push(format!(
                        "line {n}: probation {:?} v{}: {}",
                        status.state, status.candidate_version, status.reason
                    ));
                }
            }
            Line::Outcome {
                call_id: call,
                route,
                outcome,
                at_ms,
                took_ms,
                timer_ms,
                epoch,
                policy_version,
            } => {
                if call_id == Some(call) {
                    report.story.push(format!(
                        "line {n}: at {at_ms} ms, route {} ended {outcome:?} after {:.1} s \
                         (timer {:.1} s)",
                        route.0,
                        took_ms as f64 / 1000.0,
                        timer_ms as f64 / 1000.0
                    ));
                }
                if let Some((mut snapshot, policy)) = state.next_of(policy_version, epoch) {
                    match policy.route_index(route) {
                        Some(index) => {
                            let timing = Timing { took_ms, timer_ms };
                            snapshot.record_attempt(index, outcome, at_ms, Some(timing), &policy);
                            snapshot.epoch = epoch;
                            state.push(snapshot, policy);
                            report.state_records += 1;
                        }
                        None => state.broken = true,
                    }
                }
            }
            Line::Plan {
                request,
                now_ms,
                epoch,
                policy_version,
                policy_hash,
                session,
                attempts,
                left_out,
                fail_open,
                psap_state,
            } => {
                let found = state
                    .find(policy_version, epoch)
                    .filter(|(_, p)| p.hash() == policy_hash);
                let Some((snapshot, policy)) = found else {
                    if call_id == Some(request.call_id) {
                        report.story.push(format!(
                            "line {n}: a decision on state epoch {epoch}, which the log cannot \
                             rebuild (records dropped before it)"
                        ));
                    }
                    report.unverifiable.push(n);
                    continue;
                };
                let constraints = match &session {
                    Some(s) => Constraints {
                        remaining_ms: s.remaining_ms,
                        failed: &s.failed,
                        blame: s.blame,
                        tried_ms: s.tried_ms,
                        timed_out: RouteSet::from_bits(s.timed_out),
                        failed_slowly: RouteSet::from_bits(s.failed_slowly),
                    },
                    None => Constraints::default(),
                };
                let plan = planner::plan(&request, snapshot, policy, now_ms, &constraints);
                visit(RecordedDecision {
                    line: n,
                    request: &request,
                    now_ms,
                    snapshot,
                    policy,
                    constraints: &constraints,
                });
                if call_id == Some(request.call_id) {
                    let what = match &session {
                        Some(s) if s.delay_ms > 0 => {
                            format!("attempt after a {} ms redial backoff", s.delay_ms)
                        }
                        Some(_) => "attempt".to_owned(),
                        None => "plan".to_owned(),
                    };
                    report
                        .story
                        .push(format!("line {n}: {what}: {}", plan.explain()));
                }
                let field = if plan.attempts[..] != attempts[..] {
                    Some("attempts")
                } else if plan.left_out[..] != left_out[..] {
                    Some("left_out")
                } else if plan.fail_open != fail_open {
                    Some("fail_open")
                } else if plan.psap_state != psap_state {
                    Some("psap_state")
                } else if plan.epoch != epoch {
                    Some("epoch")
                } else {
                    None
                };
                match field {
                    None => report.matched += 1,
                    Some(field) => report.mismatches.push(Mismatch {
                        line: n,
                        call_id: request.call_id,
                        recorded: attempts,
                        replayed: plan.attempts.to_vec(),
                        field,
                    }),
                }
            }
            Line::Dropped { dropped, .. } => report.dropped += dropped,
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_under_two_kilobytes() {
        // What the capacities' memory figures in the docs assume.
        let size = std::mem::size_of::<Slot>();
        println!("slot: {size} bytes");
        assert!(size < 2048, "a slot is {size} bytes");
    }

    #[test]
    fn a_decision_with_eight_attempts_writes_four_cache_lines() {
        // What BENCHMARKS.md's audit figures rest on: a slot starts a cache line, and a
        // decision's fields up to its eighth attempt end within the fourth.
        assert_eq!(std::mem::align_of::<Slot>(), 64);
        assert_eq!(std::mem::offset_of!(Slot, plan), 0);
        assert_eq!(std::mem::size_of::<QueuedAttempt>(), 16);
        assert_eq!(std::mem::size_of::<QueuedLeftOut>(), 8);
        let end = std::mem::offset_of!(PlanEvent, attempts) + 8 * 16;
        assert!(end <= 4 * 64, "eight attempts end at byte {end}");
    }

    #[test]
    fn attempt_and_left_out_records_keep_every_value() {
        let mut attempt = Attempt {
            route: RouteId(15),
            kind: RouteKind::HomeCellular,
            media: Media::Voice,
            timeout_ms: 86_400_000,
            delay_ms: 2_000,
            needs_user_action: false,
            reason: Reason::Verified,
            evidence: Evidence::Positive,
            blamed: None,
        };
        let round_trips = |a: &Attempt| QueuedAttempt::new(a).attempt() == *a;
        for kind in RouteKind::ALL {
            attempt.kind = kind;
            assert!(round_trips(&attempt), "{kind:?}");
        }
        for media in Media::ALL {
            attempt.media = media;
            assert!(round_trips(&attempt), "{media:?}");
        }
        for reason in Reason::ALL {
            attempt.reason = reason;
            for evidence in Evidence::ALL {
                attempt.evidence = evidence;
                for needs_user_action in [false, true] {
                    attempt.needs_user_action = needs_user_action;
                    assert!(round_trips(&attempt), "{attempt:?}");
                }
            }
        }
        for blamed in [None, Some(ComponentId(0)), Some(ComponentId(31))] {
            attempt.blamed = blamed;
            assert!(round_trips(&attempt), "{blamed:?}");
        }
        for reason in LeftOutReason::ALL {
            let left_out = LeftOut {
                route: RouteId(3),
                reason,
                missing: Capabilities::ALL,
            };
            assert_eq!(QueuedLeftOut::new(&left_out).left_out(), left_out);
        }
    }
}
