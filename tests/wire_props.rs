//! Properties of the wire format (WIRE.md): encode → decode is the identity on any batch; any
//! byte string decodes to a batch or a typed error, never a panic; memory reserved while decoding
//! is bounded by the bytes actually given, not by the counts and lengths they claim; unknown
//! record types are skipped; a batch with a bad record changes nothing and names the record.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;
use sosroute::wire::{self, WireError, HEADER_LEN, MAX_RECORDS, MAX_RECORD_LEN, RECORD_HEADER_LEN};
use sosroute::{
    ComponentId, Fact, Observation, Outcome, Policy, PsapId, PsapState, RadioState, RejectCause,
    RouteId, Router, ServiceState, SignalLevel, Update,
};

// ---- A counting allocator: bytes requested by the current thread while counting is on. ----

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the allocator may run while this thread's locals are being torn down.
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = TOTAL.try_with(|t| t.set(t.get() + size));
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result, the bytes it allocated in all, and its largest allocation.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    TOTAL.with(|t| t.set(0));
    LARGEST.with(|l| l.set(0));
    ON.with(|on| on.set(true));
    let r = f();
    ON.with(|on| on.set(false));
    (r, TOTAL.with(Cell::get), LARGEST.with(Cell::get))
}

/// What decoding `input` may allocate: room for as many updates as its bytes could hold (each
/// record takes at least a record header), plus a little for an error's message parts.
fn allocation_bound(input: &[u8]) -> usize {
    let records = input.len().saturating_sub(HEADER_LEN) / RECORD_HEADER_LEN;
    records * std::mem::size_of::<Update>() + 64
}

// ---- Strategies. ----

fn radio_state() -> impl Strategy<Value = RadioState> {
    prop_oneof![
        Just(RadioState::InService),
        Just(RadioState::LimitedService),
        Just(RadioState::NoService),
        Just(RadioState::Unknown),
    ]
}

fn service_state() -> impl Strategy<Value = ServiceState> {
    prop_oneof![
        Just(ServiceState::Up),
        Just(ServiceState::Down),
        Just(ServiceState::Unknown)
    ]
}

fn psap_state() -> impl Strategy<Value = PsapState> {
    prop_oneof![
        Just(PsapState::Normal),
        Just(PsapState::Overloaded),
        Just(PsapState::Down),
        Just(PsapState::Unreachable),
        Just(PsapState::GoingDown),
        Just(PsapState::ScheduledMaintenance),
        Just(PsapState::Unknown),
    ]
}

fn cause() -> impl Strategy<Value = RejectCause> {
    prop_oneof![
        Just(RejectCause::NoSignal),
        Just(RejectCause::Congestion),
        Just(RejectCause::ServiceUnavailable),
        Just(RejectCause::NotAllowed),
        Just(RejectCause::Other),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Connected),
        Just(Outcome::TimedOut),
        (cause(), any::<u16>()).prop_map(|(cause, code)| Outcome::Rejected { cause, code }),
    ]
}

/// Facts a radio component accepts (with a signal level in range).
fn radio_fact() -> impl Strategy<Value = Fact> {
    prop_oneof![
        (radio_state(), prop_oneof![0u8..=4, Just(255)]).prop_map(|(state, s)| Fact::Radio {
            state,
            signal: SignalLevel(s)
        }),
        any::<bool>().prop_map(|active| Fact::Outage { active }),
    ]
}

/// Facts a service component accepts.
fn service_fact() -> impl Strategy<Value = Fact> {
    prop_oneof![
        service_state().prop_map(|state| Fact::Service { state }),
        (any::<bool>(), any::<u32>()).prop_map(|(ok, rtt_ms)| Fact::Probe { ok, rtt_ms }),
        any::<bool>().prop_map(|connected| Fact::Link { connected }),
        any::<bool>().prop_map(|registered| Fact::E911Address { registered }),
        any::<bool>().prop_map(|active| Fact::Outage { active }),
    ]
}

fn psap_fact() -> impl Strategy<Value = Fact> {
    prop_oneof![
        psap_state().prop_map(|state| Fact::Psap { state }),
        any::<bool>().prop_map(|ready| Fact::PsapTextReady { ready }),
    ]
}

/// Any fact, whether or not its subject could have it.
fn any_fact() -> impl Strategy<Value = Fact> {
    prop_oneof![
        radio_state().prop_flat_map(|state| any::<u8>().prop_map(move |s| Fact::Radio {
            state,
            signal: SignalLevel(s)
        })),
        service_fact(),
        psap_fact(),
    ]
}

/// Any update at all: the wire format carries what `Update` can hold, valid for a policy or not.
fn any_update() -> impl Strategy<Value = Update> {
    prop_oneof![
        (any::<u16>(), any_fact(), any::<u64>())
            .prop_map(|(c, f, at)| Update::Observe(Observation::component(ComponentId(c), f, at))),
        (any::<u32>(), any_fact(), any::<u64>())
            .prop_map(|(p, f, at)| Update::Observe(Observation::psap(PsapId(p), f, at))),
        (any::<u16>(), outcome(), any::<u64>()).prop_map(|(r, outcome, at_ms)| {
            Update::Outcome {
                route: RouteId(r),
                outcome,
                at_ms,
            }
        }),
    ]
}

/// Updates the shipped policy accepts: components 0, 2, 3 are radio, 1, 4, 5, 6 service; routes
/// have ids 1 to 6.
fn valid_update() -> impl Strategy<Value = Update> {
    let at = 0u64..10_000_000;
    prop_oneof![
        (
            prop_oneof![Just(0u16), Just(2), Just(3)],
            radio_fact(),
            at.clone()
        )
            .prop_map(|(c, f, at)| Update::Observe(Observation::component(
                ComponentId(c),
                f,
                at
            ))),
        (
            prop_oneof![Just(1u16), Just(4), Just(5), Just(6)],
            service_fact(),
            at.clone()
        )
            .prop_map(|(c, f, at)| Update::Observe(Observation::component(
                ComponentId(c),
                f,
                at
            ))),
        (1u32..50, psap_fact(), at.clone())
            .prop_map(|(p, f, at)| Update::Observe(Observation::psap(PsapId(p), f, at))),
        (1u16..=6, outcome(), at).prop_map(|(r, outcome, at_ms)| Update::Outcome {
            route: RouteId(r),
            outcome,
            at_ms,
        }),
    ]
}

/// A well-formed record the shipped policy refuses, or a malformed one, as raw bytes.
fn bad_record() -> impl Strategy<Value = (Vec<u8>, &'static str)> {
    prop_oneof![
        // Component 40: not declared.
        Just((rec(1, &[0, 40, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2]), "refused")),
        // Radio fact on the home core (a service component).
        Just((rec(1, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2]), "refused")),
        // Signal level 9.
        Just((rec(1, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 9]), "refused")),
        // PSAP 0.
        Just((
            rec(2, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 8, 1]),
            "refused"
        )),
        // Route 77.
        Just((rec(3, &[0, 77, 0, 0, 0, 0, 0, 0, 0, 1, 1]), "refused")),
        // Radio state 0.
        Just((
            rec(1, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 2]),
            "bad value"
        )),
        // Fact tag 99.
        Just((
            rec(1, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 99, 0, 2]),
            "bad value"
        )),
        // Boolean 2.
        Just((rec(1, &[0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 4, 2]), "bad value")),
        // Reject cause 6.
        Just((
            rec(3, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 6, 0, 0]),
            "bad value"
        )),
        // Outcome body one byte short.
        Just((rec(3, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0]), "length")),
        // Connected outcome with a stray payload byte.
        Just((rec(3, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]), "length")),
    ]
}

fn rec(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// Byte offsets of each record of a batch made by the encoder (or by hand, well-formed).
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let count = u16::from_be_bytes([bytes[6], bytes[7]]) as usize;
    let mut at = HEADER_LEN;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(at);
        at += RECORD_HEADER_LEN + u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]) as usize;
    }
    out
}

/// Inserts a raw record before record `index` (or at the end) and bumps the count.
fn insert_record(bytes: &mut Vec<u8>, index: usize, record: &[u8]) {
    let offsets = record_offsets(bytes);
    let at = offsets.get(index).copied().unwrap_or(bytes.len());
    bytes.splice(at..at, record.iter().copied());
    let count = u16::from_be_bytes([bytes[6], bytes[7]]) + 1;
    bytes[6..8].copy_from_slice(&count.to_be_bytes());
}

/// A checked decode: never a panic, bounded allocation, and anything accepted round-trips.
fn decode_checked(input: &[u8]) -> Result<Vec<Update>, WireError> {
    let (result, total, largest) = allocations(|| wire::decode(input));
    let bound = allocation_bound(input);
    assert!(
        total <= bound,
        "decoding {} bytes allocated {total} bytes (largest {largest}); bound {bound}",
        input.len()
    );
    if let Ok(updates) = &result {
        let again = wire::encode(updates).expect("a decoded batch fits the limits");
        assert_eq!(
            &wire::decode(&again).expect("re-encoded batch decodes"),
            updates
        );
    }
    result
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len().max(1);
    match m {
        Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % n] = *b,
        Mutation::Flip(i, bit) if !bytes.is_empty() => bytes[i % n] ^= 1 << bit,
        Mutation::Truncate(i) => bytes.truncate(i % n),
        Mutation::Insert(i, b) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Remove(i, k) if !bytes.is_empty() => {
            let at = i % n;
            let end = (at + k).min(bytes.len());
            bytes.drain(at..end);
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_any_valid_batch(batch in prop::collection::vec(any_update(), 0..64)) {
        let bytes = wire::encode(&batch).unwrap();
        prop_assert_eq!(bytes.len(), wire::encoded_len(&batch));
        prop_assert_eq!(&bytes[..4], b"SOSU");
        prop_assert_eq!(decode_checked(&bytes).unwrap(), batch);
    }

    #[test]
    fn any_bytes_decode_to_a_batch_or_a_typed_error(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        // Mostly rejected at the magic; also decode it behind a valid header to reach records.
        let _ = decode_checked(&bytes);
        let mut framed = b"SOSU\x01\x00".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = decode_checked(&framed);
    }

    #[test]
    fn records_of_random_types_lengths_and_bodies_never_panic(
        records in prop::collection::vec(
            (prop_oneof![1u8..=3, any::<u8>()], prop::collection::vec(any::<u8>(), 0..24)),
            0..16,
        ),
        extra_count in 0u16..4,
    ) {
        let mut bytes = b"SOSU\x01\x00".to_vec();
        bytes.extend_from_slice(&(records.len() as u16 + extra_count).to_be_bytes());
        for (kind, body) in &records {
            bytes.extend_from_slice(&rec(*kind, body));
        }
        if let Err(e) = decode_checked(&bytes) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn mutated_encodings_never_panic(
        batch in prop::collection::vec(any_update(), 0..16),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = wire::encode(&batch).unwrap().to_vec();
        for m in &mutations {
            mutate(&mut bytes, m);
            let _ = decode_checked(&bytes);
        }
    }

    #[test]
    fn claims_without_bytes_fail_fast_without_allocating(
        count in 0u16..=u16::MAX,
        len in 0u16..=u16::MAX,
        kind in any::<u8>(),
        carried in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        // A header claiming `count` records, then one record header claiming `len` bytes, then
        // far fewer bytes than either claim.
        let mut bytes = b"SOSU\x01\x00".to_vec();
        bytes.extend_from_slice(&count.to_be_bytes());
        bytes.push(kind);
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&carried);
        let claimed = usize::from(count) * RECORD_HEADER_LEN + usize::from(len);
        let result = decode_checked(&bytes);
        if claimed > bytes.len() - HEADER_LEN {
            prop_assert!(result.is_err(), "{result:?}");
        }
        if usize::from(count) > MAX_RECORDS {
            prop_assert!(matches!(result, Err(WireError::TooManyRecords { .. })), "{result:?}");
        }
    }

    #[test]
    fn unknown_record_types_are_skipped(
        batch in prop::collection::vec(any_update(), 0..16),
        unknown in prop::collection::vec(
            (any::<usize>(), 4u8..=255, prop::collection::vec(any::<u8>(), 0..40)),
            1..6,
        ),
    ) {
        let mut bytes = wire::encode(&batch).unwrap().to_vec();
        for (at, kind, body) in &unknown {
            insert_record(&mut bytes, at % (batch.len() + 1), &rec(*kind, body));
        }
        prop_assert_eq!(decode_checked(&bytes).unwrap(), batch);
    }

    #[test]
    fn applying_the_encoding_equals_applying_the_batch(
        batch in prop::collection::vec(valid_update(), 0..32),
    ) {
        let direct = Router::new(Policy::us_default());
        let by_wire = Router::new(Policy::us_default());
        let epoch = direct.apply(batch.iter().copied()).unwrap();
        let bytes = wire::encode(&batch).unwrap();
        prop_assert_eq!(wire::apply(&by_wire, &bytes), Ok(epoch));
        prop_assert_eq!(by_wire.snapshot(), direct.snapshot());
    }

    #[test]
    fn a_bad_record_changes_nothing_and_is_named(
        history in prop::collection::vec(valid_update(), 0..16),
        batch in prop::collection::vec(valid_update(), 0..16),
        at in any::<usize>(),
        (bad, why) in bad_record(),
    ) {
        let router = Router::new(Policy::us_default());
        router.apply(history.iter().copied()).unwrap();
        let before = router.snapshot();

        let index = at % (batch.len() + 1);
        let mut bytes = wire::encode(&batch).unwrap().to_vec();
        insert_record(&mut bytes, index, &bad);
        let offset = record_offsets(&bytes)[index];

        let err = wire::apply(&router, &bytes).unwrap_err();
        prop_assert_eq!(router.snapshot(), before, "state changed by a refused batch: {}", err);
        let (e_index, e_offset) = match (&err, why) {
            (WireError::Refused { index, offset, .. }, "refused") => (*index, *offset),
            (WireError::BadValue { index, offset, .. }, "bad value") => (*index, *offset),
            (WireError::LengthMismatch { index, offset, .. }, "length") => (*index, *offset),
            _ => return Err(TestCaseError::fail(format!("{why}: unexpected {err:?}"))),
        };
        prop_assert_eq!((e_index, e_offset), (index, offset));
        let named = format!("record {index} at byte {offset}");
        prop_assert!(err.to_string().starts_with(&named), "{}", err);
    }
}

#[test]
fn hostile_headers_fail_before_reserving() {
    // 4096 records claimed, 12 bytes carried.
    let mut bytes = b"SOSU\x01\x00\x10\x00".to_vec();
    bytes.extend_from_slice(&[1, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let (r, total, _) = allocations(|| wire::decode(&bytes));
    assert_eq!(
        r,
        Err(WireError::CountExceedsData {
            count: 4096,
            available: 12
        })
    );
    assert_eq!(total, 0, "refused before any allocation");

    // One record claiming the largest body, with three bytes of it present.
    let mut bytes = b"SOSU\x01\x00\x00\x01".to_vec();
    bytes.extend_from_slice(&[
        200,
        (MAX_RECORD_LEN >> 8) as u8,
        MAX_RECORD_LEN as u8,
        1,
        2,
        3,
    ]);
    let (r, _, largest) = allocations(|| wire::decode(&bytes));
    assert!(
        matches!(r, Err(WireError::TruncatedRecord { index: 0, needed, available: 3, .. }) if needed == MAX_RECORD_LEN)
    );
    assert!(largest <= std::mem::size_of::<Update>(), "{largest}");

    // The most records the limit allows, each an empty unknown record: accepted, and what is
    // reserved is bounded by the bytes carried.
    let mut bytes = b"SOSU\x01\x00\x10\x00".to_vec();
    for _ in 0..MAX_RECORDS {
        bytes.extend_from_slice(&[250, 0, 0]);
    }
    let (r, total, _) = allocations(|| wire::decode(&bytes));
    assert_eq!(r, Ok(vec![]));
    assert!(total <= allocation_bound(&bytes), "{total}");
}
