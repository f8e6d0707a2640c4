//! The C path and the Rust path give identical plans (`docs/DESIGN.md`, Interfaces): the same random
//! histories of observations and outcomes are fed to one router through the `extern "C"`
//! functions and to another through the Rust API, and every plan and every call-session step must
//! agree — attempts, left-out routes, summary and the explanation text.

use std::ffi::c_char;

use proptest::prelude::*;
use sosroute::ffi::*;
use sosroute::{
    Attempt, CallRequest, Capabilities, ComponentId, Fact, LeftOut, Media, Next, Observation,
    Outcome, Plan, PsapId, PsapState, RadioState, RejectCause, RouteId, Router, ServiceState,
    SignalLevel, Subject,
};

const DIALLED: [&str; 6] = [
    "911",
    "112",
    "tel:911",
    "urn:service:sos.fire",
    "110",
    "411",
];

/// One step of a history.
#[derive(Debug, Clone)]
enum Step {
    Observe(Observation),
    Batch(Vec<Observation>),
    Outcome(u16, Outcome, u64),
}

fn fact() -> impl Strategy<Value = Fact> {
    let radio = prop_oneof![
        Just(RadioState::InService),
        Just(RadioState::LimitedService),
        Just(RadioState::NoService),
        Just(RadioState::Unknown)
    ];
    let service = prop_oneof![
        Just(ServiceState::Up),
        Just(ServiceState::Down),
        Just(ServiceState::Unknown)
    ];
    let psap = prop_oneof![
        Just(PsapState::Normal),
        Just(PsapState::Overloaded),
        Just(PsapState::Down),
        Just(PsapState::Unreachable),
        Just(PsapState::GoingDown),
        Just(PsapState::ScheduledMaintenance),
        Just(PsapState::Unknown)
    ];
    prop_oneof![
        4 => (radio, prop_oneof![0u8..=5, Just(255u8)])
            .prop_map(|(state, s)| Fact::Radio { state, signal: SignalLevel(s) }),
        3 => service.prop_map(|state| Fact::Service { state }),
        2 => (any::<bool>(), 0u32..500).prop_map(|(ok, rtt_ms)| Fact::Probe { ok, rtt_ms }),
        2 => any::<bool>().prop_map(|connected| Fact::Link { connected }),
        1 => any::<bool>().prop_map(|registered| Fact::E911Address { registered }),
        1 => any::<bool>().prop_map(|active| Fact::Outage { active }),
        1 => psap.prop_map(|state| Fact::Psap { state }),
        1 => any::<bool>().prop_map(|ready| Fact::PsapTextReady { ready }),
    ]
}

fn observation() -> impl Strategy<Value = Observation> {
    let subject = prop_oneof![
        6 => (0u16..8).prop_map(|c| Subject::Component(ComponentId(c))),
        1 => prop_oneof![Just(0u32), Just(1), Just(42)].prop_map(|p| Subject::Psap(PsapId(p))),
    ];
    (subject, fact(), 0u64..200_000).prop_map(|(subject, fact, at_ms)| Observation {
        subject,
        fact,
        at_ms,
    })
}

fn outcome() -> impl Strategy<Value = Outcome> {
    let cause = prop_oneof![
        Just(RejectCause::NoSignal),
        Just(RejectCause::Congestion),
        Just(RejectCause::ServiceUnavailable),
        Just(RejectCause::NotAllowed),
        Just(RejectCause::Other)
    ];
    prop_oneof![
        1 => Just(Outcome::Connected),
        2 => Just(Outcome::TimedOut),
        2 => (cause, any::<u16>()).prop_map(|(cause, code)| Outcome::Rejected { cause, code }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => observation().prop_map(Step::Observe),
        2 => prop::collection::vec(observation(), 0..5).prop_map(Step::Batch),
        2 => (0u16..8, outcome(), 0u64..200_000).prop_map(|(r, o, t)| Step::Outcome(r, o, t)),
    ]
}

/// A request as C would send it.
#[derive(Debug, Clone, Copy)]
struct Req {
    call_id: u64,
    dialled: &'static str,
    media: u32,
    caps: u32,
    psap: u32,
    now_ms: u64,
}

fn request() -> impl Strategy<Value = Req> {
    (
        any::<u64>(),
        prop::sample::select(&DIALLED[..]),
        1u32..=3,
        0u32..=31,
        prop_oneof![Just(0u32), Just(1), Just(42)],
        0u64..250_000,
    )
        .prop_map(|(call_id, dialled, media, caps, psap, now_ms)| Req {
            call_id,
            dialled,
            media,
            caps,
            psap,
            now_ms,
        })
}

fn c_observation(o: &Observation) -> sos_observation {
    let (subject, id) = match o.subject {
        Subject::Component(c) => (sos_subject::Component as u32, u32::from(c.0)),
        Subject::Psap(p) => (sos_subject::Psap as u32, p.0),
    };
    let mut c = sos_observation {
        struct_size: std::mem::size_of::<sos_observation>() as u32,
        subject,
        id,
        fact: 0,
        state: 0,
        signal: 0,
        flag: 0,
        rtt_ms: 0,
        at_ms: o.at_ms,
    };
    match o.fact {
        Fact::Radio { state, signal } => {
            c.fact = sos_fact::Radio as u32;
            c.state = state as u32;
            c.signal = u32::from(signal.0);
        }
        Fact::Service { state } => {
            c.fact = sos_fact::Service as u32;
            c.state = state as u32;
        }
        Fact::Probe { ok, rtt_ms } => {
            c.fact = sos_fact::Probe as u32;
            c.flag = u32::from(ok);
            c.rtt_ms = rtt_ms;
        }
        Fact::Link { connected } => {
            c.fact = sos_fact::Link as u32;
            c.flag = u32::from(connected);
        }
        Fact::E911Address { registered } => {
            c.fact = sos_fact::E911Address as u32;
            c.flag = u32::from(registered);
        }
        Fact::Outage { active } => {
            c.fact = sos_fact::Outage as u32;
            c.flag = u32::from(active);
        }
        Fact::Psap { state } => {
            c.fact = sos_fact::Psap as u32;
            c.state = state as u32;
        }
        Fact::PsapTextReady { ready } => {
            c.fact = sos_fact::PsapTextReady as u32;
            c.flag = u32::from(ready);
        }
        other => panic!("a fact this test cannot pass through C yet: {other:?}"),
    }
    c
}

/// `(outcome, cause, code)` as C passes them.
fn c_outcome(o: Outcome) -> (u32, u32, u32) {
    match o {
        Outcome::Connected => (sos_outcome::Connected as u32, 0, 0),
        Outcome::TimedOut => (sos_outcome::TimedOut as u32, 0, 0),
        Outcome::Rejected { cause, code } => {
            (sos_outcome::Rejected as u32, cause as u32, u32::from(code))
        }
        other => panic!("an outcome this test cannot pass through C yet: {other:?}"),
    }
}

fn media(v: u32) -> Media {
    Media::ALL[v as usize - 1]
}

/// An attempt as both paths show it: route, kind, media, timeout, reason, evidence, blamed,
/// needs user action.
type SeenAttempt = (u32, u32, u32, u64, u32, u32, u32, bool);

/// A plan, reduced to what both paths can show.
#[derive(Debug, PartialEq)]
struct Seen {
    attempts: Vec<SeenAttempt>,
    left_out: Vec<(u32, u32, u32)>,
    summary: (u32, u64, u64, u64, u64, u32, bool),
    explanation: String,
    guidance: String,
    numbers: Vec<String>,
}

fn seen_attempt(a: &Attempt) -> SeenAttempt {
    (
        u32::from(a.route.0),
        a.kind as u32,
        a.media as u32,
        a.timeout_ms,
        a.reason as u32,
        a.evidence as u32,
        a.blamed.map_or(u32::MAX, |c| u32::from(c.0)),
        a.needs_user_action,
    )
}

fn seen_c_attempt(a: &sos_attempt) -> SeenAttempt {
    (
        a.route,
        a.kind,
        a.media,
        a.timeout_ms,
        a.reason,
        a.evidence,
        a.blamed,
        a.needs_user_action,
    )
}

fn seen_left_out(l: &LeftOut) -> (u32, u32, u32) {
    (u32::from(l.route.0), l.reason as u32, l.missing.0)
}

fn rust_seen(p: &Plan) -> Seen {
    Seen {
        attempts: p.attempts.iter().map(seen_attempt).collect(),
        left_out: p.left_out.iter().map(seen_left_out).collect(),
        summary: (
            p.request.service as u32,
            p.request.call_id,
            p.epoch,
            p.policy_version(),
            p.made_at_ms,
            p.psap_state.map_or(0, |s| s as u32),
            p.fail_open,
        ),
        explanation: p.explain(),
        guidance: p.guidance().text.clone(),
        numbers: p.guidance().numbers.clone(),
    }
}

fn zeroed_attempt() -> sos_attempt {
    sos_attempt {
        struct_size: std::mem::size_of::<sos_attempt>() as u32,
        route: 0,
        kind: 0,
        media: 0,
        timeout_ms: 0,
        reason: 0,
        evidence: 0,
        blamed: 0,
        needs_user_action: false,
    }
}

/// Reads a text getter through the size-query protocol: ask for the size, then fill.
fn c_text(get: impl Fn(*mut c_char, usize, *mut usize) -> sos_status) -> String {
    let mut needed = 0usize;
    assert_eq!(
        get(std::ptr::null_mut(), 0, &mut needed),
        sos_status::SOS_ERR_BUFFER_TOO_SMALL
    );
    let mut buf = vec![0 as c_char; needed];
    let mut again = 0usize;
    assert_eq!(
        get(buf.as_mut_ptr(), buf.len(), &mut again),
        sos_status::SOS_OK
    );
    assert_eq!(again, needed);
    // SAFETY: the library wrote a NUL-terminated string into buf.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .expect("UTF-8")
        .to_owned()
}

/// Everything a C caller can read from a plan.
///
/// # Safety
/// `plan` is a live handle.
unsafe fn c_seen(plan: *const sos_plan) -> Seen {
    let mut n = 0usize;
    assert_eq!(sos_plan_attempt_count(plan, &mut n), sos_status::SOS_OK);
    let attempts = (0..n)
        .map(|i| {
            let mut a = zeroed_attempt();
            assert_eq!(sos_plan_attempt(plan, i, &mut a), sos_status::SOS_OK);
            seen_c_attempt(&a)
        })
        .collect();
    assert_eq!(sos_plan_left_out_count(plan, &mut n), sos_status::SOS_OK);
    let left_out = (0..n)
        .map(|i| {
            let mut l = sos_left_out {
                struct_size: std::mem::size_of::<sos_left_out>() as u32,
                route: 0,
                reason: 0,
                missing: 0,
            };
            assert_eq!(sos_plan_left_out(plan, i, &mut l), sos_status::SOS_OK);
            (l.route, l.reason, l.missing)
        })
        .collect();
    let mut s = sos_plan_summary {
        struct_size: std::mem::size_of::<sos_plan_summary>() as u32,
        service: 0,
        call_id: 0,
        epoch: 0,
        policy_version: 0,
        made_at_ms: 0,
        psap_state: 0,
        fail_open: false,
    };
    assert_eq!(sos_plan_get_summary(plan, &mut s), sos_status::SOS_OK);
    assert_eq!(
        sos_plan_guidance_number_count(plan, &mut n),
        sos_status::SOS_OK
    );
    let numbers = (0..n)
        .map(|i| c_text(|b, l, nd| sos_plan_guidance_number(plan, i, b, l, nd)))
        .collect();
    Seen {
        attempts,
        left_out,
        summary: (
            s.service,
            s.call_id,
            s.epoch,
            s.policy_version,
            s.made_at_ms,
            s.psap_state,
            s.fail_open,
        ),
        explanation: c_text(|b, l, nd| sos_plan_explain(plan, b, l, nd)),
        guidance: c_text(|b, l, nd| sos_plan_guidance_text(plan, b, l, nd)),
        numbers,
    }
}

fn c_request(r: &Req) -> sos_call_request {
    sos_call_request {
        struct_size: std::mem::size_of::<sos_call_request>() as u32,
        media: r.media,
        call_id: r.call_id,
        dialled: r.dialled.as_ptr().cast::<c_char>(),
        dialled_len: r.dialled.len(),
        capabilities: r.caps,
        psap: r.psap,
        now_ms: r.now_ms,
    }
}

/// Whether a step carries a value no policy accepts: a signal level above the scale, or a fact
/// about PSAP 0. The C ABI refuses those as `SOS_ERR_INVALID_ARG`.
fn step_has_bad_value(step: &Step) -> bool {
    let bad = |o: &Observation| {
        matches!(o.fact, Fact::Radio { signal, .. } if signal.0 > SignalLevel::MAX_BARS && signal != SignalLevel::UNKNOWN)
            || o.subject == Subject::Psap(PsapId(0))
    };
    match step {
        Step::Observe(o) => bad(o),
        Step::Batch(os) => os.iter().any(bad),
        Step::Outcome(..) => false,
    }
}

/// Both routers, fed the same history.
struct Pair {
    rust: Router,
    c: *mut sos_router,
}

impl Pair {
    fn new() -> Pair {
        let mut c = std::ptr::null_mut();
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { sos_router_new(&mut c) }, sos_status::SOS_OK);
        Pair {
            rust: Router::new(sosroute::Policy::us_default()),
            c,
        }
    }

    fn apply(&self, step: &Step) {
        let mut epoch = 0u64;
        // SAFETY: a live router; pointers into live locals.
        let (rust, c) = unsafe {
            match step {
                Step::Observe(o) => (
                    self.rust.observe(*o),
                    sos_router_observe(self.c, &c_observation(o), &mut epoch),
                ),
                Step::Batch(os) => {
                    let cs: Vec<sos_observation> = os.iter().map(c_observation).collect();
                    (
                        self.rust.update(os),
                        sos_router_update(self.c, cs.as_ptr(), cs.len(), &mut epoch),
                    )
                }
                Step::Outcome(route, o, at) => {
                    let (k, cause, code) = c_outcome(*o);
                    (
                        self.rust.record_outcome(RouteId(*route), *o, *at),
                        sos_router_record_outcome(
                            self.c,
                            u32::from(*route),
                            k,
                            cause,
                            code,
                            *at,
                            &mut epoch,
                        ),
                    )
                }
            }
        };
        match rust {
            Ok(e) => {
                assert_eq!(c, sos_status::SOS_OK, "{step:?}");
                assert_eq!(epoch, e);
            }
            // A value no policy accepts is a bad argument in C, found before any refusal by the
            // policy in force, which is an update error (see `sos_status`).
            Err(_) if step_has_bad_value(step) => {
                assert_eq!(c, sos_status::SOS_ERR_INVALID_ARG, "{step:?}")
            }
            Err(_) => assert_eq!(c, sos_status::SOS_ERR_UPDATE, "{step:?}"),
        }
    }

    /// Plans `r` both ways and checks they agree.
    fn check_plan(&self, r: &Req) {
        let rust = CallRequest::new(
            r.call_id,
            r.dialled,
            media(r.media),
            Capabilities(r.caps),
            r.now_ms,
        )
        .map(|q| q.with_psap(PsapId(r.psap)));
        let mut plan = std::ptr::null_mut();
        // SAFETY: a live router and a request pointing at a live &'static str.
        let status = unsafe { sos_router_plan(self.c, &c_request(r), &mut plan) };
        match rust {
            Err(_) => {
                assert_eq!(status, sos_status::SOS_ERR_NOT_EMERGENCY);
                assert!(plan.is_null(), "out-param written on failure");
            }
            Ok(q) => {
                assert_eq!(status, sos_status::SOS_OK);
                // SAFETY: a live plan, freed once.
                let c = unsafe { c_seen(plan) };
                unsafe { sos_plan_free(plan) };
                assert_eq!(c, rust_seen(&self.rust.plan(&q)));
            }
        }
    }

    /// Walks a call session both ways with the same scripted outcomes.
    fn check_session(&self, r: &Req, outcomes: &[Outcome]) {
        let Ok(q) = CallRequest::new(
            r.call_id,
            r.dialled,
            media(r.media),
            Capabilities(r.caps),
            r.now_ms,
        ) else {
            return;
        };
        let mut rust = self.rust.begin(q.with_psap(PsapId(r.psap)));
        let mut call = std::ptr::null_mut();
        // SAFETY: as in check_plan.
        assert_eq!(
            unsafe { sos_router_begin(self.c, &c_request(r), &mut call) },
            sos_status::SOS_OK
        );
        let mut now = r.now_ms;
        for o in outcomes
            .iter()
            .copied()
            .chain(std::iter::repeat(Outcome::TimedOut))
            .take(12)
        {
            let mut a = zeroed_attempt();
            let mut done = 0u32;
            // SAFETY: a live call and valid out-pointers.
            let status = unsafe { sos_call_next_attempt(call, now, &mut a, &mut done) };
            match rust.next_attempt(now).expect("nothing in flight") {
                Next::Attempt(ra) => {
                    assert_eq!(status, sos_status::SOS_OK);
                    assert_eq!(seen_c_attempt(&a), seen_attempt(&ra));
                    // The session's own plan agrees too.
                    let mut plan = std::ptr::null_mut();
                    // SAFETY: as above; the plan is freed once.
                    unsafe {
                        assert_eq!(sos_call_plan(call, now, &mut plan), sos_status::SOS_OK);
                        assert_eq!(c_seen(plan), rust_seen(&rust.plan(now)));
                        sos_plan_free(plan);
                    }
                    now += if o.is_connected() {
                        1_000
                    } else {
                        ra.timeout_ms
                    };
                    let (k, cause, code) = c_outcome(o);
                    rust.report(o, now).expect("an attempt is in flight");
                    // SAFETY: a live call.
                    let s = unsafe { sos_call_report(call, k, cause, code, now) };
                    assert_eq!(s, sos_status::SOS_OK);
                }
                Next::Done(d) => {
                    assert_eq!(status, sos_status::SOS_DONE);
                    assert_eq!(done, d as u32);
                    break;
                }
            }
        }
        // SAFETY: a live call, freed once.
        unsafe { sos_call_free(call) };
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // SAFETY: a live router, freed once.
        unsafe { sos_router_free(self.c) };
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// After any history of observations and outcomes, plans made through C equal plans made in
    /// Rust.
    #[test]
    fn c_and_rust_plans_are_identical(
        history in prop::collection::vec(step(), 0..40),
        requests in prop::collection::vec(request(), 1..6),
    ) {
        let pair = Pair::new();
        for (i, step) in history.iter().enumerate() {
            pair.apply(step);
            if i % 8 == 7 {
                pair.check_plan(&requests[i % requests.len()]);
            }
        }
        for r in &requests {
            pair.check_plan(r);
        }
    }

    /// Call sessions walked through C hand out the same attempts, and end the same way, as in
    /// Rust.
    #[test]
    fn c_and_rust_sessions_are_identical(
        history in prop::collection::vec(step(), 0..30),
        r in request(),
        outcomes in prop::collection::vec(outcome(), 0..8),
    ) {
        let pair = Pair::new();
        for step in &history {
            pair.apply(step);
        }
        pair.check_session(&r, &outcomes);
        pair.check_plan(&r);
    }
}

/// A fixed grid on top of the random histories: every dialled string, media and capability set.
#[test]
fn grid_of_requests_agrees() {
    let pair = Pair::new();
    let home_ran = pair.rust.component_id("home_ran").unwrap();
    let core = pair.rust.component_id("home_core").unwrap();
    pair.apply(&Step::Batch(vec![
        Observation::component(
            home_ran,
            Fact::Radio {
                state: RadioState::InService,
                signal: SignalLevel(3),
            },
            1_000,
        ),
        Observation::component(
            core,
            Fact::Service {
                state: ServiceState::Down,
            },
            1_000,
        ),
        Observation::psap(PsapId(42), Fact::PsapTextReady { ready: true }, 1_000),
    ]));
    for dialled in DIALLED {
        for m in 1..=3 {
            for caps in 0..=31 {
                for psap in [0, 42] {
                    pair.check_plan(&Req {
                        call_id: u64::from(caps),
                        dialled,
                        media: m,
                        caps,
                        psap,
                        now_ms: 5_000,
                    });
                }
            }
        }
    }
}

/// A policy loaded through C (as JSON) and through Rust gives the same plans, and a rejected load
/// leaves both routers on the policy they had.
#[test]
fn loaded_policies_agree() {
    let pair = Pair::new();
    let mut spec = sosroute::Policy::us_default().spec().clone();
    spec.name = "edited".to_owned();
    spec.preference.voice.reverse();
    let json = serde_json::to_string(&spec).expect("a policy spec serializes");
    let mut version = 0u64;
    let rust = pair
        .rust
        .load_policy(&json, sosroute::PolicyFormat::Json)
        .expect("the edited policy is valid");
    // SAFETY: a live router and a live string.
    let status = unsafe {
        sos_router_load_policy(
            pair.c,
            json.as_ptr().cast::<c_char>(),
            json.len(),
            sos_policy_format::Json as u32,
            &mut version,
        )
    };
    assert_eq!(status, sos_status::SOS_OK);
    assert_eq!(version, rust);

    let bad = json.replace("\"redial_backoff_s\":2.0", "\"redial_backoff_s\":0.0");
    assert_ne!(bad, json);
    assert!(pair
        .rust
        .load_policy(&bad, sosroute::PolicyFormat::Json)
        .is_err());
    // SAFETY: as above.
    let status = unsafe {
        sos_router_load_policy(
            pair.c,
            bad.as_ptr().cast::<c_char>(),
            bad.len(),
            sos_policy_format::Json as u32,
            &mut version,
        )
    };
    assert_eq!(status, sos_status::SOS_ERR_POLICY);
    assert_eq!(version, rust, "out-param written on failure");

    for dialled in ["911", "112"] {
        for m in 1..=3 {
            for caps in [0, 1, 2, 4, 31] {
                pair.check_plan(&Req {
                    call_id: 9,
                    dialled,
                    media: m,
                    caps,
                    psap: 0,
                    now_ms: 1_000,
                });
            }
        }
    }
}
