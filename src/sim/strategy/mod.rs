//! The strategies compared on identical callers: what each may see and how each dials.

use crate::route::RouteKind;

use super::world::{AttemptResult, Caller, World};

pub mod android_like;
pub mod home_only;
pub mod oracle;
pub mod sosroute;

/// The network's own give-up on a call attempt that gets no answer: SIP timer B, 64 × T1 = 32 s
/// (RFC 3261 §17.1.1.2). Strategies without a setup timer of their own end a hanging attempt here.
pub const SIP_TIMER_B_MS: u64 = crate::planner::NETWORK_GIVE_UP_MS;

/// Pause before redialling after an attempt that failed at once (no signal), so a phone that
/// keeps redialling does not spin: about the time a dialler takes to tear down and redial.
pub const REDIAL_PAUSE_MS: u64 = 2_000;

/// Which strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Sees the truth; straight to the fastest working route.
    Oracle,
    /// Keeps trying the home network.
    HomeOnly,
    /// A model of Android's emergency domain selection.
    AndroidLike,
    /// The library, through its public API.
    Sosroute,
}

impl Strategy {
    /// Every strategy, in report order.
    pub const ALL: [Strategy; 4] = [
        Strategy::Oracle,
        Strategy::HomeOnly,
        Strategy::AndroidLike,
        Strategy::Sosroute,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Oracle => "oracle",
            Strategy::HomeOnly => "home_only",
            Strategy::AndroidLike => "android_like",
            Strategy::Sosroute => "sosroute",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// Reached the PSAP `after_ms` after the call started, over a route of `kind`.
    Connected {
        /// Time to connect.
        after_ms: u64,
        /// The route that carried it.
        kind: RouteKind,
    },
    /// The caller's patience ran out first.
    Abandoned,
    /// The strategy had nothing left to try before the caller's patience ran out.
    GaveUp,
}

/// One call under one strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallResult {
    /// How it ended.
    pub outcome: CallOutcome,
    /// Attempts made.
    pub attempts: u32,
}

/// What one attempt of a dialling loop came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tried {
    /// Connected: the call is over.
    Connected,
    /// Failed; the caller is still waiting.
    Failed(AttemptResult),
    /// The caller hung up before or during the attempt.
    Abandoned,
}

/// A handset dialling attempt after attempt on its own clock, for the strategies that need no
/// router (each call is independent of every other).
#[derive(Debug)]
pub struct Dialer<'w> {
    world: &'w World,
    caller: &'w Caller,
    /// The handset's clock.
    pub now_ms: u64,
    deadline_ms: u64,
    attempts: u32,
    last_attempt_ms: u64,
    connected: Option<(u64, RouteKind)>,
}

impl<'w> Dialer<'w> {
    /// A call by `caller`, starting now.
    pub fn new(world: &'w World, caller: &'w Caller) -> Dialer<'w> {
        Dialer {
            world,
            caller,
            now_ms: caller.start_ms,
            deadline_ms: caller.deadline_ms(world.scenario.calls.patience_ms),
            attempts: 0,
            last_attempt_ms: 0,
            connected: None,
        }
    }

    /// Milliseconds since the call started.
    pub fn elapsed_ms(&self) -> u64 {
        self.now_ms - self.caller.start_ms
    }

    /// Whether the caller has hung up.
    pub fn abandoned(&self) -> bool {
        self.now_ms >= self.deadline_ms
    }

    /// One attempt on the route of `kind`, with the strategy's own setup timer `timer_ms`.
    pub fn attempt(&mut self, kind: RouteKind, timer_ms: u64) -> Tried {
        if self.abandoned() {
            return Tried::Abandoned;
        }
        self.attempts += 1;
        let end = self
            .world
            .attempt(self.caller, self.world.route(kind), self.now_ms, timer_ms);
        self.last_attempt_ms = end.after_ms;
        let end_at = self.now_ms.saturating_add(end.after_ms);
        if end_at > self.deadline_ms {
            self.now_ms = self.deadline_ms;
            return Tried::Abandoned;
        }
        self.now_ms = end_at;
        if end.result == AttemptResult::Connected {
            self.connected = Some((self.elapsed_ms(), kind));
            return Tried::Connected;
        }
        Tried::Failed(end.result)
    }

    /// How long the last attempt took.
    pub fn last_attempt_ms(&self) -> u64 {
        self.last_attempt_ms
    }

    /// Waits `ms` (capped at the caller's patience).
    pub fn pause(&mut self, ms: u64) {
        self.now_ms = self.now_ms.saturating_add(ms).min(self.deadline_ms);
    }

    /// The call's result; `gave_up` says whether the strategy stopped on its own.
    pub fn finish(&self, gave_up: bool) -> CallResult {
        let outcome = match self.connected {
            Some((after_ms, kind)) => CallOutcome::Connected { after_ms, kind },
            None if gave_up && !self.abandoned() => CallOutcome::GaveUp,
            None => CallOutcome::Abandoned,
        };
        CallResult {
            outcome,
            attempts: self.attempts,
        }
    }
}
