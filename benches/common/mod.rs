//! Fixtures shared by the benches and `tests/alloc.rs`: synthetic policies with any number of
//! routes, and a state in which the planner has real work to do (every evidence class present).
//!
//! Lives in a subdirectory so cargo does not take it for a bench target of its own.

// Each including target uses a different subset.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use sosroute::{
    CallRequest, Capabilities, ComponentId, Fact, Media, Observation, Outcome, Policy, RadioState,
    RejectCause, Router, ServiceState, SignalLevel,
};

/// Service components shared between routes, so a failure on one route can demote others.
pub const CORES: usize = 4;

/// A valid policy with `routes` voice routes (1..=16). Route `i` needs its own radio `ran{i}` and
/// one of the shared cores; route 0 is the home network, the rest are custom voice routes, all
/// usable by any caller so that every route is assessed and ranked (the planner's worst case).
pub fn policy_toml(routes: usize) -> String {
    assert!((1..=16).contains(&routes), "a policy has 1..=16 routes");
    let mut s = String::new();
    s.push_str(
        r#"name = "synthetic"
allow_unverified = true
[budget]
total_s = 600.0
max_rounds = 2
[ttl]
radio_s = 30.0
service_s = 30.0
link_s = 120.0
advisory_s = 3600.0
[breaker]
failure_threshold = 2
cool_down_s = 60.0
hold_down_s = 30.0
demoted_timeout_pct = 50
min_setup_timeout_s = 4.0
"#,
    );
    for c in 0..CORES {
        let _ = write!(s, "[[component]]\nname = \"core{c}\"\nkind = \"service\"\n");
    }
    for r in 0..routes {
        let _ = write!(s, "[[component]]\nname = \"ran{r}\"\nkind = \"radio\"\n");
    }
    for r in 0..routes {
        let kind = if r == 0 { "home_cellular" } else { "custom" };
        let media = if r == 0 { "" } else { "media = [\"voice\"]\n" };
        let _ = write!(
            s,
            "[[route]]\nid = {id}\nname = \"r{r}\"\nkind = \"{kind}\"\n{media}\
             needs = [\"ran{r}\", \"core{core}\"]\nsetup_timeout_s = 10.0\n",
            id = r + 1,
            core = r % CORES,
        );
    }
    let names: Vec<String> = (0..routes).map(|r| format!("\"r{r}\"")).collect();
    let list = names.join(", ");
    let _ = write!(
        s,
        "[preference]\nvoice = [{list}]\ntext = [{list}]\nrtt = [{list}]\n\
         [guidance]\ntext = \"Call from a landline.\"\nnumbers = [\"555 0100\"]\n"
    );
    s
}

/// A policy with `routes` routes.
pub fn policy(routes: usize) -> Policy {
    Policy::from_toml(&policy_toml(routes)).expect("the synthetic policy is valid")
}

/// When the fixture's observations were made; decisions are made shortly after.
pub const OBSERVED_AT: u64 = 1_000;
/// When decisions are made: every observation still fresh.
pub const NOW: u64 = 2_000;
/// A time when every observation has gone stale (the policy's TTLs are 30 s), some still in
/// hold-down.
pub const STALE: u64 = OBSERVED_AT + 40_000;

/// Observations on every component of `policy(routes)`: a mix of in service, limited service
/// and no radio, core up and core down, so the plan has positive, unknown and negative routes.
pub fn observations(routes: usize, at_ms: u64) -> Vec<Observation> {
    let mut out = Vec::new();
    for c in 0..CORES {
        let state = if c == 1 {
            ServiceState::Down
        } else {
            ServiceState::Up
        };
        out.push(Observation::component(
            ComponentId(c as u16),
            Fact::Service { state },
            at_ms,
        ));
    }
    for r in 0..routes {
        let state = match r % 3 {
            0 => RadioState::InService,
            1 => RadioState::LimitedService,
            _ => RadioState::Unknown,
        };
        out.push(Observation::component(
            ComponentId((CORES + r) as u16),
            Fact::Radio {
                state,
                signal: SignalLevel(3),
            },
            at_ms,
        ));
    }
    out
}

/// A router with `policy(routes)` and `observations(routes)` applied.
pub fn router(routes: usize) -> Router {
    let router = Router::new(policy(routes));
    router
        .update(&observations(routes, OBSERVED_AT))
        .expect("the fixture's observations fit its policy");
    router
}

/// [`router`] with an audit sink that discards its lines, in a ring of `capacity` records.
pub fn audited_router(routes: usize, capacity: usize) -> Router {
    let router = router(routes);
    router
        .attach_audit(Box::new(|_: &[u8]| {}), capacity)
        .expect("capacity in range");
    router
}

/// A voice 911 call at `now_ms` from a caller with every capability.
pub fn request(call_id: u64, now_ms: u64) -> CallRequest {
    CallRequest::new(call_id, "911", Media::Voice, Capabilities::ALL, now_ms)
        .expect("911 is an emergency number")
}

/// One observation that changes something: the radio of route 0 flips between in service and
/// limited service with `tick`.
pub fn one_observation(tick: u64) -> Observation {
    let state = if tick % 2 == 0 {
        RadioState::InService
    } else {
        RadioState::LimitedService
    };
    Observation::component(
        ComponentId(CORES as u16),
        Fact::Radio {
            state,
            signal: SignalLevel(2),
        },
        OBSERVED_AT + tick,
    )
}

/// A monitor thread applying observation batches as fast as it can while this thread plans.
/// Each batch is stamped 1 ms after the one before; readers plan at [`WriterStorm::now_ms`],
/// the time of the latest batch, as a handset or a PSAP decides at the time its monitors report
/// (a reader planning at a fixed time would see the state race ahead of it into the future).
pub struct WriterStorm {
    stop: Arc<AtomicBool>,
    batches: Arc<AtomicU64>,
    clock: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl WriterStorm {
    /// Starts storming `router`, which was made by `router(routes)`.
    pub fn start(router: &Router, routes: usize) -> WriterStorm {
        let router = router.clone();
        WriterStorm::with(routes, move |batch| {
            router.update(batch).expect("the storm's batches are valid");
        })
    }

    /// Starts a thread handing `apply` the storm's batches for a `router(routes)` policy.
    pub fn with(
        routes: usize,
        mut apply: impl FnMut(&[Observation]) + Send + 'static,
    ) -> WriterStorm {
        let stop = Arc::new(AtomicBool::new(false));
        let batches = Arc::new(AtomicU64::new(0));
        let clock = Arc::new(AtomicU64::new(OBSERVED_AT));
        let thread = {
            let (stop, batches, clock) = (stop.clone(), batches.clone(), clock.clone());
            thread::spawn(move || {
                let mut batch = observations(routes, OBSERVED_AT);
                let mut tick = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    tick += 1;
                    // A changing batch: newer timestamps, and route 0's radio flipping.
                    batch[CORES] = one_observation(tick);
                    for o in &mut batch[..CORES] {
                        o.at_ms = OBSERVED_AT + tick;
                    }
                    apply(&batch);
                    batches.fetch_add(1, Ordering::Relaxed);
                    clock.store(OBSERVED_AT + tick, Ordering::Relaxed);
                }
            })
        };
        WriterStorm {
            stop,
            batches,
            clock,
            thread: Some(thread),
        }
    }

    /// The time of the latest batch applied.
    pub fn now_ms(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }

    /// Stops the writer; returns the batches it applied.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("the storm thread does not panic");
        }
        self.batches.load(Ordering::Relaxed)
    }
}

/// How attempt number `attempts` (1-based) of a full-fallback call ends: every attempt is
/// refused (SIP 503) until the one on the last of `routes` routes, which connects.
pub fn fallback_outcome(attempts: u32, routes: usize) -> Outcome {
    if attempts as usize == routes {
        Outcome::Connected
    } else {
        Outcome::Rejected {
            cause: RejectCause::Congestion,
            code: 503,
        }
    }
}
