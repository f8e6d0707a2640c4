//! The edges of issue 11 ("Ready for 1.0"): bounded error text, size queries that keep the last
//! error, one status per kind of fault, dialled strings as dialers really send them, bounded
//! inputs. The same contracts are checked from C in `tests/c/ffi_test.c`.

use std::ffi::c_char;

use sosroute::ffi::*;
use sosroute::US_HANDSET_TOML;
use sosroute::{CallRequest, Capabilities, Media, Policy};
use sosroute::{CUT_MARK, MAX_ERROR_LEN};

/// The calling thread's `sos_last_error`, through the C ABI.
fn last_error() -> String {
    let mut needed = 0usize;
    // SAFETY: a size query: NULL with 0, and a valid `needed`.
    let s = unsafe { sos_last_error(std::ptr::null_mut(), 0, &mut needed) };
    assert!(
        s == sos_status::SOS_ERR_BUFFER_TOO_SMALL || s == sos_status::SOS_OK,
        "{s:?}"
    );
    let mut buf = vec![0 as c_char; needed];
    // SAFETY: `buf` holds `needed` bytes.
    let s = unsafe { sos_last_error(buf.as_mut_ptr(), buf.len(), &mut needed) };
    assert_eq!(s, sos_status::SOS_OK);
    // SAFETY: sos_last_error wrote a NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .expect("messages are UTF-8")
        .to_owned()
}

fn new_router() -> *mut sos_router {
    let mut r: *mut sos_router = std::ptr::null_mut();
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { sos_router_new(&mut r) }, sos_status::SOS_OK);
    r
}

fn load(router: *mut sos_router, text: &[u8], format: u32) -> sos_status {
    // SAFETY: a live router and `text.len()` readable bytes.
    unsafe {
        sos_router_load_policy(
            router,
            text.as_ptr().cast(),
            text.len(),
            format,
            std::ptr::null_mut(),
        )
    }
}

fn request(dialled: &[u8]) -> sos_call_request {
    sos_call_request {
        struct_size: std::mem::size_of::<sos_call_request>() as u32,
        media: sos_media::Voice as u32,
        call_id: 1,
        dialled: dialled.as_ptr().cast(),
        dialled_len: dialled.len(),
        capabilities: SOS_CAP_SMS,
        psap: 0,
        now_ms: 1_000,
    }
}

fn assert_cut(message: &str) {
    assert!(message.len() <= MAX_ERROR_LEN, "{} bytes", message.len());
    assert!(message.ends_with(CUT_MARK), "{message}");
}

/// A policy whose one TOML line is 4 MB: the parser quotes the line, the message must not.
#[test]
fn a_huge_policy_gives_a_bounded_message_in_rust_and_in_c() {
    let huge = format!("name = \"{}\" oops\n", "x".repeat(4 << 20));
    let e = Policy::from_toml(&huge).unwrap_err().to_string();
    assert!(e.starts_with("policy is not valid TOML"), "{}", &e[..100]);
    assert_cut(&e);
    // A route name 2 MB long: the value quoted in the refusal is cut.
    let long_name = US_HANDSET_TOML.replacen(
        "name = \"home\"\n",
        &format!("name = \"{}\"\n", "é".repeat(1 << 20)),
        1,
    );
    assert_ne!(long_name, US_HANDSET_TOML);
    let Err(e) = Policy::from_toml(&long_name) else {
        panic!("a 2 MB route name is refused");
    };
    let e = e.to_string();
    assert!(e.len() <= MAX_ERROR_LEN, "{}", e.len());
    assert!(e.contains(CUT_MARK) && e.contains("route[0].name"), "{e}");

    let router = new_router();
    let too_big_for_the_limit_too = huge.as_bytes();
    assert_eq!(
        load(
            router,
            too_big_for_the_limit_too,
            sos_policy_format::Toml as u32
        ),
        sos_status::SOS_ERR_POLICY
    );
    assert!(last_error().len() <= MAX_ERROR_LEN);
    // SAFETY: a live handle, freed once.
    unsafe { sos_router_free(router) };
}

/// "Not an emergency" quotes the dialled string: escaping (a control character quotes to six
/// bytes) can make a 250-byte string a 1.5 KB message; a 5 MB one is not examined at all.
#[test]
fn a_huge_dialled_string_gives_a_bounded_message() {
    let dialled = "4".repeat(5 << 20);
    let e = CallRequest::new(1, &dialled, Media::Voice, Capabilities::NONE, 0).unwrap_err();
    let message = e.to_string();
    assert!(message.len() <= MAX_ERROR_LEN, "{}", message.len());
    assert!(message.contains("MAX_DIALLED_LEN"), "{message}");
    let controls = "\u{1}".repeat(250);
    let e = CallRequest::new(1, &controls, Media::Voice, Capabilities::NONE, 0).unwrap_err();
    let message = e.to_string();
    assert!(message.len() <= MAX_ERROR_LEN, "{}", message.len());
    assert!(message.contains(CUT_MARK), "{message}");

    let router = new_router();
    for dialled in [dialled.as_bytes(), controls.as_bytes()] {
        let mut plan: *mut sos_plan = std::ptr::null_mut();
        let r = request(dialled);
        // SAFETY: a live router, a request whose `dialled` is readable, a valid out-pointer.
        let s = unsafe { sos_router_plan(router, &r, &mut plan) };
        assert_eq!(s, sos_status::SOS_ERR_NOT_EMERGENCY);
        assert!(last_error().len() <= MAX_ERROR_LEN);
    }
    // SAFETY: a live handle, freed once.
    unsafe { sos_router_free(router) };
}

/// A multi-byte character straddling the cut is never split.
#[test]
fn messages_are_cut_on_a_utf8_boundary() {
    for pad in 0..4 {
        let dialled = format!(
            "{}{}{}",
            "\u{1}".repeat(70),
            "4".repeat(pad),
            "€".repeat(55)
        );
        let router = new_router();
        let mut plan: *mut sos_plan = std::ptr::null_mut();
        let r = request(dialled.as_bytes());
        // SAFETY: as above.
        let s = unsafe { sos_router_plan(router, &r, &mut plan) };
        assert_eq!(s, sos_status::SOS_ERR_NOT_EMERGENCY);
        // `last_error` checks the text is UTF-8.
        let message = last_error();
        assert!(message.contains(CUT_MARK), "{message}");
        // SAFETY: a live handle, freed once.
        unsafe { sos_router_free(router) };
    }
}

/// A size query, or a buffer too small, on any text getter keeps the thread's last error.
#[test]
fn size_queries_do_not_replace_the_last_error() {
    let router = new_router();
    let mut plan: *mut sos_plan = std::ptr::null_mut();
    let r = request(b"911");
    // SAFETY: as above.
    assert_eq!(
        unsafe { sos_router_plan(router, &r, &mut plan) },
        sos_status::SOS_OK
    );
    // The failure the integrator wants to log.
    assert_eq!(
        load(router, b"name = [", sos_policy_format::Toml as u32),
        sos_status::SOS_ERR_POLICY
    );
    let before = last_error();
    assert!(before.contains("TOML"), "{before}");
    let mut needed = 0usize;
    let mut small = [0 as c_char; 2];
    let small = small.as_mut_ptr();
    let null = std::ptr::null_mut();
    let n = &mut needed as *mut usize;
    // The shipped policy has no guidance numbers: that getter is checked from C, with a policy
    // that has some.
    // SAFETY (every closure): live handles; NULL with 0 or a 2-byte buffer; a valid `needed`.
    let getters: [(&str, &dyn Fn() -> sos_status); 8] = [
        ("explain, size query", &|| unsafe {
            sos_plan_explain(plan, null, 0, n)
        }),
        ("explain, 2 bytes", &|| unsafe {
            sos_plan_explain(plan, small, 2, n)
        }),
        ("guidance text", &|| unsafe {
            sos_plan_guidance_text(plan, null, 0, n)
        }),
        ("plan route name", &|| unsafe {
            sos_plan_route_name(plan, 1, null, 0, n)
        }),
        ("policy name", &|| unsafe {
            sos_router_policy_name(router, null, 0, n)
        }),
        ("router route name", &|| unsafe {
            sos_router_route_name(router, 1, small, 2, n)
        }),
        ("last error, size query", &|| unsafe {
            sos_last_error(null, 0, n)
        }),
        ("last error, 2 bytes", &|| unsafe {
            sos_last_error(small, 2, n)
        }),
    ];
    for (what, getter) in getters {
        assert_eq!(getter(), sos_status::SOS_ERR_BUFFER_TOO_SMALL, "{what}");
        assert_eq!(last_error(), before, "{what} replaced the last error");
    }
    // A real fault in a getter still replaces it.
    // SAFETY: a live plan; NULL with a non-zero length is the fault under test.
    let s = unsafe { sos_plan_explain(plan, null, 5, &mut needed) };
    assert_eq!(s, sos_status::SOS_ERR_NULL);
    assert!(last_error().contains("`buf`"));
    // SAFETY: live handles, freed once.
    unsafe {
        sos_plan_free(plan);
        sos_router_free(router);
    }
}

fn observe(router: *mut sos_router, o: sos_observation) -> sos_status {
    let mut epoch = 0u64;
    // SAFETY: a live router and a valid observation and out-pointer.
    unsafe { sos_router_observe(router, &o, &mut epoch) }
}

fn radio(id: u32, signal: u32) -> sos_observation {
    sos_observation {
        struct_size: std::mem::size_of::<sos_observation>() as u32,
        subject: sos_subject::Component as u32,
        id,
        fact: sos_fact::Radio as u32,
        state: sos_radio_state::InService as u32,
        signal,
        flag: 0,
        rtt_ms: 0,
        at_ms: 1_000,
    }
}

/// One kind of fault, one status, whatever the size of the value.
#[test]
fn the_same_fault_gives_the_same_status() {
    let router = new_router();
    // A signal level above the scale: a bad argument under any policy.
    for signal in [5, 6, 254, 256, u32::MAX] {
        assert_eq!(
            observe(router, radio(0, signal)),
            sos_status::SOS_ERR_INVALID_ARG,
            "signal {signal}"
        );
        assert!(last_error().contains(".signal"), "{}", last_error());
    }
    for signal in [0, 4, SOS_SIGNAL_UNKNOWN] {
        assert_eq!(observe(router, radio(0, signal)), sos_status::SOS_OK);
    }
    // A component the policy in force does not declare: an update refused, however large.
    for id in [31, 65_535, 65_536, u32::MAX] {
        assert_eq!(
            observe(router, radio(id, 2)),
            sos_status::SOS_ERR_UPDATE,
            "component {id}"
        );
        assert!(last_error().contains("not declared"), "{}", last_error());
    }
    // Routes the same, in outcomes.
    for route in [999, 65_535, 65_536, u32::MAX] {
        // SAFETY: a live router.
        let s = unsafe {
            sos_router_record_outcome(
                router,
                route,
                sos_outcome::TimedOut as u32,
                0,
                0,
                1_000,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(s, sos_status::SOS_ERR_UPDATE, "route {route}");
    }
    // PSAP 0 means "not known": a bad argument under any policy.
    let psap0 = sos_observation {
        subject: sos_subject::Psap as u32,
        id: 0,
        fact: sos_fact::Psap as u32,
        state: sos_psap_state::Normal as u32,
        ..radio(0, 0)
    };
    assert_eq!(observe(router, psap0), sos_status::SOS_ERR_INVALID_ARG);
    assert!(last_error().contains("PSAP id 0"));
    // SAFETY: a live handle, freed once.
    unsafe { sos_router_free(router) };
}

/// Text that is not UTF-8 gets the status of its argument's domain, as any other bad content.
#[test]
fn text_that_is_not_utf8_gets_the_status_of_what_it_is_for() {
    let router = new_router();
    assert_eq!(
        load(router, b"name = \"\xff\"", sos_policy_format::Toml as u32),
        sos_status::SOS_ERR_POLICY
    );
    assert!(last_error().contains("not UTF-8"), "{}", last_error());
    let mut plan: *mut sos_plan = std::ptr::null_mut();
    let r = request(b"9\xff1");
    // SAFETY: a live router, a readable request, a valid out-pointer.
    let s = unsafe { sos_router_plan(router, &r, &mut plan) };
    assert_eq!(s, sos_status::SOS_ERR_NOT_EMERGENCY);
    assert!(plan.is_null());
    let mut id = 77u32;
    // SAFETY: a live router, 2 readable bytes, a valid out-pointer.
    let s = unsafe { sos_router_component_id(router, b"\xff\xfe".as_ptr().cast(), 2, &mut id) };
    assert_eq!(s, sos_status::SOS_ERR_NOT_FOUND);
    assert_eq!(id, 77);
    // SAFETY: a live handle, freed once.
    unsafe { sos_router_free(router) };
}

/// A NUL inside a name or a sentence would cut it short for every C reader: refused, naming the
/// field, in TOML and in JSON.
#[test]
fn names_and_text_with_a_nul_are_refused_naming_the_field() {
    let cases = [
        (
            "name = \"us-handset\"",
            "name = \"us\\u0000handset\"",
            "`name`",
        ),
        (
            "name = \"home\"\n",
            "name = \"ho\\u0000me\"\n",
            "route[0].name",
        ),
        (
            "name = \"home_ran\"",
            "name = \"home\\u0000ran\"",
            "component[0].name",
        ),
        (
            "text = \"If the call",
            "text = \"\\u0000If the call",
            "guidance.text",
        ),
    ];
    for (from, to, field) in cases {
        assert!(US_HANDSET_TOML.contains(from), "{from}");
        let toml = US_HANDSET_TOML.replacen(from, to, 1);
        let Err(e) = Policy::from_toml(&toml) else {
            panic!("{to} is refused");
        };
        let e = e.to_string();
        assert!(e.contains(field) && e.contains("NUL"), "{e}");
    }
    // JSON, and a jurisdiction's guidance.
    let mut spec = Policy::us_default().spec().clone();
    spec.jurisdiction.push(sosroute::JurisdictionSpec {
        psap: 7,
        preference: None,
        guidance: Some(sosroute::GuidanceSpec {
            text: "Call\u{0}back".into(),
            numbers: vec![],
        }),
    });
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.contains("\\u0000"));
    let e = Policy::from_json(&json).unwrap_err().to_string();
    assert!(
        e.contains("jurisdiction[0].guidance.text") && e.contains("NUL"),
        "{e}"
    );
}

/// A refused wire batch names the record once, by its position in the batch.
#[test]
fn a_refused_wire_batch_names_the_record_one_way() {
    use sosroute::{ComponentId, Fact, Observation, RadioState, SignalLevel, Update};
    let radio = |c: u16| {
        Update::Observe(Observation::component(
            ComponentId(c),
            Fact::Radio {
                state: RadioState::InService,
                signal: SignalLevel(2),
            },
            1_000,
        ))
    };
    let bytes = sosroute::wire::encode(&[radio(0), radio(31)]).unwrap();
    let router = sosroute::Router::new(Policy::us_default());
    let e = sosroute::wire::apply(&router, &bytes)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("record 1 at byte "), "{e}");
    assert!(!e.contains("update"), "{e}");
    assert!(e.contains("component 31 is not declared"), "{e}");
}

fn plan_ex(router: *mut sos_router, dialled: &[u8], flags: u32) -> (sos_status, *mut sos_plan) {
    let mut plan: *mut sos_plan = std::ptr::null_mut();
    let r = request(dialled);
    // SAFETY: a live router, a request whose `dialled` is readable, a valid out-pointer.
    let s = unsafe { sos_router_plan_ex(router, &r, flags, &mut plan) };
    (s, plan)
}

fn summary_and_explanation(plan: *mut sos_plan) -> (sos_plan_summary, String) {
    let mut summary = sos_plan_summary {
        struct_size: std::mem::size_of::<sos_plan_summary>() as u32,
        service: 0,
        call_id: 0,
        epoch: 0,
        policy_version: 0,
        made_at_ms: 0,
        psap_state: 0,
        fail_open: false,
    };
    let mut buf = vec![0 as c_char; 8192];
    let mut needed = 0;
    // SAFETY: a live plan, a writable summary and buffer.
    unsafe {
        assert_eq!(sos_plan_get_summary(plan, &mut summary), sos_status::SOS_OK);
        assert_eq!(
            sos_plan_explain(plan, buf.as_mut_ptr(), buf.len(), &mut needed),
            sos_status::SOS_OK
        );
        sos_plan_free(plan);
    }
    // SAFETY: NUL-terminated by sos_plan_explain.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    (summary, text.to_string_lossy().into_owned())
}

/// What dialers really send is recognised: a counted terminator, other scripts' digits,
/// invisible characters at the ends.
#[test]
fn dialled_strings_as_dialers_send_them_are_recognised() {
    let router = new_router();
    let cases: [&[u8]; 9] = [
        b"911\0",
        "９１１".as_bytes(),
        "٩١١".as_bytes(),
        "۹۱۱".as_bytes(),
        "\u{200B}911".as_bytes(),
        "911\u{200B}".as_bytes(),
        "\u{202A}911\u{202C}".as_bytes(),
        "\u{FEFF}tel:911\u{00A0}".as_bytes(),
        b" 112\0",
    ];
    for dialled in cases {
        let (s, plan) = plan_ex(router, dialled, 0);
        assert_eq!(s, sos_status::SOS_OK, "{dialled:?}");
        let (summary, text) = summary_and_explanation(plan);
        assert_eq!(summary.service, sos_emergency_service::Sos as u32);
        assert!(!text.contains("dialer"), "{text}");
    }
    // SAFETY: a live handle, freed once.
    unsafe { sos_router_free(router) };
}

/// With the dialer's word for it, anything plans as a generic emergency, and says why.
#[test]
fn the_dialers_classification_makes_any_string_an_emergency() {
    let router = new_router();
    let long = vec![b'9'; SOS_MAX_DIALLED_LEN + 1];
    let strings: [&[u8]; 5] = [b"1122", b"\xff\xfe", b"", b"411", &long];
    for dialled in strings {
        let (s, _) = plan_ex(router, dialled, 0);
        assert_eq!(s, sos_status::SOS_ERR_NOT_EMERGENCY, "{dialled:?}");
        let (s, plan) = plan_ex(router, dialled, SOS_REQUEST_DIALER_EMERGENCY);
        assert_eq!(s, sos_status::SOS_OK, "{dialled:?}");
        let (summary, text) = summary_and_explanation(plan);
        assert_eq!(summary.service, sos_emergency_service::Sos as u32);
        assert!(
            text.starts_with("Call 1 (urn:service:sos, voice; the dialled string is not an emergency number this library knows: planned as a generic emergency because the dialer classified the call as one): try "),
            "{text}"
        );
    }
    let (s, _) = plan_ex(router, &long, 0);
    assert_eq!(s, sos_status::SOS_ERR_NOT_EMERGENCY);
    assert!(last_error().contains("MAX_DIALLED_LEN"), "{}", last_error());
    // A recognised string keeps its service, flag or not.
    let (s, plan) = plan_ex(
        router,
        b"urn:service:sos.police",
        SOS_REQUEST_DIALER_EMERGENCY,
    );
    assert_eq!(s, sos_status::SOS_OK);
    let (summary, text) = summary_and_explanation(plan);
    assert_eq!(summary.service, sos_emergency_service::Police as u32);
    assert!(!text.contains("dialer"), "{text}");
    // No string at all, on the dialer's word.
    let mut r = request(b"");
    r.dialled = std::ptr::null();
    let mut plan: *mut sos_plan = std::ptr::null_mut();
    let mut call: *mut sos_call = std::ptr::null_mut();
    // SAFETY: a live router, a request with NULL `dialled` and length 0, valid out-pointers.
    unsafe {
        assert_eq!(
            sos_router_plan(router, &r, &mut plan),
            sos_status::SOS_ERR_NULL
        );
        assert_eq!(
            sos_router_plan_ex(router, &r, SOS_REQUEST_DIALER_EMERGENCY, &mut plan),
            sos_status::SOS_OK
        );
        sos_plan_free(plan);
        assert_eq!(
            sos_router_begin_ex(router, &r, SOS_REQUEST_DIALER_EMERGENCY, &mut call),
            sos_status::SOS_OK
        );
        sos_call_free(call);
        // Unknown flag bits are refused.
        assert_eq!(
            sos_router_plan_ex(router, &request(b"911"), 2, &mut plan),
            sos_status::SOS_ERR_INVALID_ARG
        );
        sos_router_free(router);
    }
    assert!(last_error().contains("`flags`"), "{}", last_error());

    // The Rust API.
    let rust = sosroute::Router::new(Policy::us_default());
    let req = CallRequest::dialer_emergency(3, "1122", Media::Voice, Capabilities::SMS, 0);
    assert!(req.classified_by_dialer);
    let plan = rust.plan(&req);
    assert!(!plan.attempts.is_empty());
    assert!(plan.explain().contains("the dialer classified the call"));
    let record = serde_json::to_string(&plan.record()).unwrap();
    assert!(record.contains("\"classified_by_dialer\":true"), "{record}");
    let normal = serde_json::to_string(
        &rust
            .plan(&CallRequest::dialer_emergency(
                4,
                "911",
                Media::Voice,
                Capabilities::SMS,
                0,
            ))
            .record(),
    )
    .unwrap();
    assert!(!normal.contains("classified_by_dialer"), "{normal}");
}

/// The shipped policy with `n` jurisdictions, PSAPs 1..=n, every third with its own guidance.
fn with_jurisdictions(n: u32) -> sosroute::PolicySpec {
    let mut spec = Policy::us_default().spec().clone();
    spec.jurisdiction = (1..=n)
        .map(|psap| sosroute::JurisdictionSpec {
            psap,
            preference: None,
            guidance: (psap % 3 == 0).then(|| sosroute::GuidanceSpec {
                text: format!("Call PSAP {psap} on its ten-digit line."),
                numbers: vec!["555-0100".into()],
            }),
        })
        .collect();
    spec
}

/// Loading is O(n log n) in jurisdictions (it was quadratic: 3.8 s for 40,000), and a plan finds
/// its caller's jurisdiction by binary search.
#[test]
fn forty_thousand_jurisdictions_load_in_well_under_a_second() {
    let spec = with_jurisdictions(40_000);
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.len() <= sosroute::MAX_POLICY_LEN, "{}", json.len());
    let started = std::time::Instant::now();
    let policy = Policy::from_json(&json).expect("valid");
    let from_json = started.elapsed();
    let started = std::time::Instant::now();
    let policy_again = Policy::from_spec(spec).expect("valid");
    let from_spec = started.elapsed();
    println!("40,000 jurisdictions: from_json {from_json:?}, from_spec {from_spec:?}");
    assert!(from_spec.as_secs_f64() < 0.5, "{from_spec:?}");
    assert!(from_json.as_secs_f64() < 1.0, "{from_json:?}");
    assert_eq!(policy, policy_again);
    for psap in [3, 20_001, 39_999, 40_000] {
        let want = if psap % 3 == 0 {
            format!("Call PSAP {psap} on its ten-digit line.")
        } else {
            Policy::us_default()
                .guidance(sosroute::PsapId(0))
                .text
                .clone()
        };
        assert_eq!(policy.guidance(sosroute::PsapId(psap)).text, want);
    }
    assert_eq!(
        policy.guidance(sosroute::PsapId(40_001)).text,
        Policy::us_default().guidance(sosroute::PsapId(0)).text
    );
    // A duplicate is still named by its position.
    let mut spec = with_jurisdictions(10);
    spec.jurisdiction[7].psap = 2;
    let e = Policy::from_spec(spec).unwrap_err().to_string();
    assert!(
        e.contains("jurisdiction[7].psap") && e.contains("twice"),
        "{e}"
    );
}

/// Every documented limit is refused with an error naming it.
#[test]
fn inputs_over_their_limits_are_refused_naming_the_limit() {
    use sosroute::{MAX_JURISDICTIONS, MAX_POLICY_LEN};
    let too_long = format!("{}{}", US_HANDSET_TOML, " ".repeat(MAX_POLICY_LEN));
    let e = Policy::from_toml(&too_long).unwrap_err().to_string();
    assert!(e.contains("MAX_POLICY_LEN"), "{e}");
    let e = Policy::from_json(&too_long).unwrap_err().to_string();
    assert!(e.contains("MAX_POLICY_LEN"), "{e}");
    let Err(e) = Policy::from_spec(with_jurisdictions(MAX_JURISDICTIONS as u32 + 1)) else {
        panic!("too many jurisdictions are refused");
    };
    let e = e.to_string();
    assert!(
        e.contains("MAX_JURISDICTIONS") && e.contains("`jurisdiction`"),
        "{e}"
    );
    let mut spec = Policy::us_default().spec().clone();
    spec.name = "n".repeat(257);
    let e = Policy::from_spec(spec).unwrap_err().to_string();
    assert!(e.contains("MAX_POLICY_NAME_LEN"), "{e}");

    // Through C: a policy text over the limit is refused before it is read.
    let router = new_router();
    assert_eq!(
        load(router, too_long.as_bytes(), sos_policy_format::Toml as u32),
        sos_status::SOS_ERR_POLICY
    );
    assert!(last_error().contains("MAX_POLICY_LEN"), "{}", last_error());
    // A batch over SOS_MAX_BATCH observations.
    let batch = vec![radio(0, 2); SOS_MAX_BATCH + 1];
    // SAFETY: a live router and `batch.len()` observations.
    let s = unsafe { sos_router_update(router, batch.as_ptr(), batch.len(), std::ptr::null_mut()) };
    assert_eq!(s, sos_status::SOS_ERR_INVALID_ARG);
    assert!(last_error().contains("SOS_MAX_BATCH"), "{}", last_error());
    // SAFETY: as above, at the limit.
    let s =
        unsafe { sos_router_update(router, batch.as_ptr(), SOS_MAX_BATCH, std::ptr::null_mut()) };
    assert_eq!(s, sos_status::SOS_OK);
    // SAFETY: a live handle, freed once.
    unsafe { sos_router_free(router) };
}
