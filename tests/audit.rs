//! The audit trail (issue 12): a log re-derives bit for bit, a stalled sink drops with an exact
//! count and never blocks a decision, a hole in the log is reported, never papered over.

use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use sosroute::audit::{replay, AuditError, ReplayError, MAX_AUDIT_CAPACITY};
use sosroute::sim::{self, Scenario};
use sosroute::{
    CallRequest, Capabilities, Fact, Media, Next, Observation, Outcome, Policy, PolicyFormat,
    RadioState, RejectCause, Router, SignalLevel,
};

mod common;

use common::{attach_log, Log};

/// A router with the home radio in service, its audit trail attached with `capacity`.
fn audited(capacity: usize) -> (Router, Log) {
    let router = Router::new(Policy::us_default());
    let log = attach_log(&router, capacity);
    router
        .update(&[radio(&router, "home_ran", RadioState::InService, 0)])
        .unwrap();
    (router, log)
}

fn text(log: &Log) -> String {
    String::from_utf8(log.lock().unwrap().clone()).unwrap()
}

fn scenario(name: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    Scenario::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn voice(call_id: u64, now_ms: u64) -> CallRequest {
    CallRequest::new(call_id, "911", Media::Voice, Capabilities::SMS, now_ms).unwrap()
}

fn radio(router: &Router, name: &str, state: RadioState, at_ms: u64) -> Observation {
    let fact = Fact::Radio {
        state,
        signal: SignalLevel(2),
    };
    Observation::component(router.component_id(name).unwrap(), fact, at_ms)
}

#[test]
fn the_att_replay_audit_log_rederives_bit_for_bit() {
    let policy = Policy::us_default();
    let log = sim::AuditLog::default();
    let audited =
        sim::replay_audited(scenario("att-2024-02-22"), &policy, &mut |_| {}, Some(&log)).unwrap();
    let plain = sim::replay(scenario("att-2024-02-22"), &policy, &mut |_| {}).unwrap();
    // Recording changes no decision.
    assert_eq!(
        serde_json::to_string(&audited).unwrap(),
        serde_json::to_string(&plain).unwrap()
    );
    let text = String::from_utf8(log.lock().clone()).unwrap();
    let report = replay(&text).unwrap();
    assert!(
        report.all_match(),
        "{:?}",
        &report.mismatches[..report.mismatches.len().min(3)]
    );
    assert_eq!(report.dropped, 0);
    // Every caller's router, each with its own checkpoint, and at least a decision per call.
    let callers = audited.calls as usize;
    assert_eq!(report.checkpoints, callers);
    assert!(report.matched >= callers, "{} decisions", report.matched);
    assert!(report.state_records > callers);
}

#[test]
fn a_shared_router_rederives_through_policy_changes_rollback_and_refused_batches() {
    let (router, log) = audited(1024);
    router.plan(&voice(1, 10));
    // A batch refused half-way, after more than one chunk of it was recorded.
    let mut batch: Vec<Observation> = (0..20)
        .map(|t| radio(&router, "other_ran", RadioState::InService, t))
        .collect();
    batch.push(Observation::component(
        sosroute::ComponentId(31),
        Fact::Radio {
            state: RadioState::InService,
            signal: SignalLevel(2),
        },
        5,
    ));
    assert!(router.update(&batch).is_err());
    // A long batch that applies, in several chunks.
    batch.pop();
    router.update(&batch).unwrap();
    // A call that fails over and reports outcomes, with a policy change in the middle.
    let mut call = router.begin(voice(2, 1_000));
    let mut now = 1_000;
    let mut step = 0;
    while let Next::Attempt(a) = call.next_attempt(now).unwrap() {
        now += a.delay_ms + 3_000;
        step += 1;
        if step == 2 {
            let text = sosroute::US_HANDSET_TOML.replace("total_s = 180", "total_s = 170");
            router.load_policy(&text, PolicyFormat::Toml).unwrap();
        }
        let outcome = if step == 4 {
            Outcome::Connected
        } else {
            Outcome::Rejected {
                cause: RejectCause::Congestion,
                code: 503,
            }
        };
        call.report(outcome, now).unwrap();
    }
    router.rollback_policy().unwrap();
    let home = router.policy().routes()[0].id;
    router.record_outcome(home, Outcome::TimedOut, now).unwrap();
    let mut plan = router.plan(&voice(3, now + 1));
    router.plan_into(&voice(4, now + 2), &mut plan);
    assert!(router.drain_audit() > 10);
    let text = text(&log);
    for kind in [
        "checkpoint",
        "policy",
        "updates",
        "rejected",
        "outcome",
        "plan",
    ] {
        assert!(
            text.contains(&format!("{{\"record\":\"{kind}\"")),
            "no {kind} record"
        );
    }
    let report = replay(&text).unwrap();
    assert!(report.all_match(), "{report:?}");
    assert_eq!(report.matched, 3 + step);
    assert_eq!(router.audit_dropped(), 0);
}

#[test]
fn a_stalled_sink_drops_with_an_exact_count_and_never_blocks_a_decision() {
    const CAPACITY: usize = 64;
    const PLANS: u64 = 1_000;
    let router = Router::new(Policy::us_default());
    let log: Log = Arc::default();
    let (stalled_tx, stalled_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let sink_log = Arc::clone(&log);
    let mut first = true;
    let sink = move |line: &[u8]| {
        if first {
            first = false;
            stalled_tx.send(()).unwrap();
            // Stalls (a full disk, a hung socket) until the test releases it.
            release_rx.recv().unwrap();
        }
        let mut log = sink_log.lock().unwrap();
        log.extend_from_slice(line);
        log.push(b'\n');
    };
    router.attach_audit(Box::new(sink), CAPACITY).unwrap();
    let drainer = {
        let router = router.clone();
        std::thread::spawn(move || router.drain_audit() + router.drain_audit())
    };
    // The drain took the checkpoint off the ring and is stuck in the sink.
    stalled_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    for i in 0..PLANS {
        assert!(!router.plan(&voice(i, i)).attempts.is_empty());
    }
    // The ring took CAPACITY of them; the rest were dropped, and counted exactly.
    assert_eq!(router.audit_dropped(), PLANS - CAPACITY as u64);
    release_tx.send(()).unwrap();
    let written = drainer.join().unwrap();
    // The checkpoint, CAPACITY plans, one `dropped` line.
    assert_eq!(written, 1 + CAPACITY + 1);
    let report = replay(&text(&log)).unwrap();
    assert!(report.all_match(), "{report:?}");
    assert_eq!(report.matched, CAPACITY);
    assert_eq!(report.dropped, PLANS - CAPACITY as u64);
}

#[test]
fn a_dropped_state_record_is_followed_by_a_checkpoint_and_never_mismatches() {
    let (router, log) = audited(4);
    router.plan(&voice(1, 10));
    router.plan(&voice(2, 20));
    // The ring is full (checkpoint, batch, two plans): this batch's record is lost, and so is
    // the decision made on it.
    router
        .update(&[radio(&router, "home_ran", RadioState::NoService, 30)])
        .unwrap();
    router.plan(&voice(3, 40));
    assert_eq!(router.audit_dropped(), 2);
    router.drain_audit();
    // After the new checkpoint, decisions re-derive again.
    router.plan(&voice(4, 50));
    router.drain_audit();
    let text = text(&log);
    assert_eq!(text.matches("\"record\":\"checkpoint\"").count(), 2);
    assert!(text.contains("{\"record\":\"dropped\",\"dropped\":2,\"total\":2}"));
    let report = replay(&text).unwrap();
    assert!(report.all_match(), "{report:?}");
    assert_eq!((report.matched, report.dropped), (3, 2));

    // Without the checkpoint, the decisions after the hole are unverifiable, not "matching".
    let holed: String = text
        .lines()
        .filter(|l| !l.contains("\"epoch\":2,\"policy\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(holed.lines().count(), text.lines().count() - 1);
    let report = replay(&holed).unwrap();
    assert_eq!(report.matched, 2);
    assert_eq!(report.unverifiable.len(), 1);
    assert!(!report.all_match());
}

#[test]
fn a_changed_decision_is_reported() {
    let router = Router::new(Policy::us_default());
    let log = attach_log(&router, 16);
    router.plan(&voice(1, 10));
    router.plan(&voice(2, 20));
    router.drain_audit();
    let text = text(&log);
    let tampered = text.replacen("\"timeout_ms\":15000", "\"timeout_ms\":9000", 1);
    assert_ne!(tampered, text);
    let report = replay(&tampered).unwrap();
    assert_eq!(report.matched, 1);
    assert_eq!(report.mismatches.len(), 1);
    assert_eq!(report.mismatches[0].field, "attempts");
    assert_eq!(report.mismatches[0].call_id, 1);
}

#[test]
fn bad_logs_and_bad_capacities_get_clear_errors() {
    assert!(matches!(
        replay("{\"record\":\"plan\"}\n"),
        Err(ReplayError::Malformed { line: 1, .. })
    ));
    let router = Router::new(Policy::us_default());
    let log = attach_log(&router, 8);
    router.drain_audit();
    // A policy text that does not hash to what the log says.
    let text = text(&log).replacen("\"total_s\":180.0", "\"total_s\":170.0", 1);
    let err = replay(&text).unwrap_err();
    assert!(
        matches!(
            err,
            ReplayError::Policy {
                line: 1,
                version: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("hashes to"), "{err}");

    let fresh = Router::new(Policy::us_default());
    for capacity in [0, MAX_AUDIT_CAPACITY + 1] {
        let err = fresh
            .attach_audit(Box::new(|_: &[u8]| {}), capacity)
            .unwrap_err();
        assert_eq!(err, AuditError::Capacity { capacity });
    }
    // Nothing was attached.
    fresh.plan(&voice(1, 0));
    assert_eq!((fresh.drain_audit(), fresh.audit_dropped()), (0, 0));
    // The first attach fixes the ring's size.
    let err = router
        .attach_audit(Box::new(|_: &[u8]| {}), 16)
        .unwrap_err();
    assert_eq!(
        err,
        AuditError::CapacityFixed {
            capacity: 16,
            fixed: 8
        }
    );
}

fn sosroute(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sosroute"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn the_cli_writes_a_log_from_a_replay_and_re_derives_it() {
    let dir = std::env::temp_dir().join(format!("sosroute-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("calm.jsonl");
    let log = log.to_str().unwrap();
    let out = sosroute(&["replay", "scenarios/calm-day.toml", "--audit", log]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = sosroute(&["audit", "replay", log]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 differ, 0 unverifiable"), "{stdout}");
    // One call's story: its decisions explained, its outcomes timed.
    let out = sosroute(&["audit", "replay", log, "--call", "3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(": attempt: Call 3 ("), "{stdout}");
    assert!(stdout.contains(" ended Connected after "), "{stdout}");

    let tampered = dir.join("tampered.jsonl");
    let text = std::fs::read_to_string(log).unwrap().replacen(
        "\"reason\":\"verified\"",
        "\"reason\":\"unverified\"",
        1,
    );
    std::fs::write(&tampered, text).unwrap();
    let out = sosroute(&["audit", "replay", tampered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("attempts differs"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 decisions differ"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn preview_re_plans_recorded_decisions_under_a_candidate() {
    let (router, log) = audited(64);
    for i in 0..5 {
        router.plan(&voice(i, 10 + i));
    }
    router.drain_audit();
    let logs = [("calls.jsonl".to_owned(), text(&log))];
    let shipped = Policy::us_default();
    let same = sim::preview::preview_with_audit(&shipped, &shipped, vec![], &logs, 0.5).unwrap();
    let recorded = same.recorded.as_ref().unwrap();
    assert_eq!((recorded.plans, recorded.changed), (5, 0));
    // The home route's timer cut from 15 s to 8 s: every recorded decision changes its timers.
    let text =
        sosroute::US_HANDSET_TOML.replacen("setup_timeout_s = 15.0", "setup_timeout_s = 8.0", 1);
    let candidate = Policy::parse(&text, PolicyFormat::Toml).unwrap();
    let p = sim::preview::preview_with_audit(&shipped, &candidate, vec![], &logs, 0.5).unwrap();
    let recorded = p.recorded.as_ref().unwrap();
    assert_eq!(
        (recorded.plans, recorded.changed, recorded.timers),
        (5, 5, 5)
    );
    assert!(
        p.table().contains("recorded decisions: 5 of 5"),
        "{}",
        p.table()
    );
    assert!(
        recorded.examples[0].starts_with("calls.jsonl line "),
        "{:?}",
        recorded.examples
    );
    // A log that is not one is a clear error.
    let bad = [("bad.jsonl".to_owned(), "not json\n".to_owned())];
    let err = sim::preview::preview_with_audit(&shipped, &candidate, vec![], &bad, 0.5);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("line 1: not an audit record"));
}
