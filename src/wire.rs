//! The binary wire format for batches of state updates from another process (a modem daemon, a
//! PSAP's trunk monitor, a fleet-wide outage feed). `WIRE.md` at the repository root is the
//! specification; this module is its reference implementation.
//!
//! Every byte of a batch is untrusted. [`decode`] never panics, checks every length against the
//! bytes actually present before using it, and reserves memory only in proportion to the bytes
//! it was given (a header that claims 4096 records in 20 bytes fails before anything is
//! reserved). [`apply`] decodes a whole batch first and then applies it to a [`Router`]
//! atomically: a malformed or invalid batch changes nothing, and the error names the record (its
//! position and byte offset) and what was wrong with it.
//!
//! ```
//! use sosroute::{wire, Fact, Observation, Policy, RadioState, Router, SignalLevel, Update};
//!
//! let router = Router::new(Policy::us_default());
//! let home_ran = router.component_id("home_ran").unwrap();
//! let batch = [Update::Observe(Observation::component(
//!     home_ran,
//!     Fact::Radio { state: RadioState::LimitedService, signal: SignalLevel(1) },
//!     1_000,
//! ))];
//! let bytes = wire::encode(&batch).unwrap();
//! assert_eq!(wire::decode(&bytes).unwrap(), batch);
//! assert_eq!(wire::apply(&router, &bytes).unwrap(), 1); // the new state epoch
//!
//! // A truncated batch is refused, and the state is unchanged.
//! let err = wire::apply(&router, &bytes[..bytes.len() - 1]).unwrap_err();
//! assert!(err.to_string().contains("record 0"), "{err}");
//! assert_eq!(router.snapshot().epoch, 1);
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

use crate::observation::{
    ComponentId, Fact, Observation, Outcome, PsapId, PsapState, RadioState, RejectCause,
    ServiceState, SignalLevel, Subject,
};
use crate::route::RouteId;
use crate::router::Router;
use crate::state::{Update, UpdateError};

/// The first four bytes of every batch.
pub const MAGIC: [u8; 4] = *b"SOSU";
/// The format version this module writes and reads.
pub const VERSION: u8 = 1;
/// Bytes in the batch header: magic (4), version (1), flags (1), record count (2).
pub const HEADER_LEN: usize = 8;
/// Bytes in a record header: type (1), body length (2). Also the smallest possible record.
pub const RECORD_HEADER_LEN: usize = 3;
/// Most records one batch may hold (the router's [`MAX_BATCH`](crate::MAX_BATCH)). Larger feeds are
/// split into several batches.
pub const MAX_RECORDS: usize = crate::state::MAX_BATCH;
/// Longest record body accepted, of any type (known v1 bodies are at most 18 bytes; the rest is
/// room for record types added later).
pub const MAX_RECORD_LEN: usize = 1024;
/// Longest batch accepted, header included.
pub const MAX_BATCH_LEN: usize = 256 * 1024;

/// Record types of version 1. Any other type is skipped by its length (forward compatibility).
pub mod record {
    /// An observation about a component of the policy in force.
    pub const COMPONENT_FACT: u8 = 1;
    /// An observation about a PSAP.
    pub const PSAP_FACT: u8 = 2;
    /// How an attempt on a route ended.
    pub const OUTCOME: u8 = 3;
}

/// Fact tags inside observation records, each followed by its payload: the numbers of
/// [`FactKind`](crate::FactKind).
pub mod fact {
    use crate::FactKind;
    /// [`Fact::Radio`](crate::Fact::Radio): state (u8), signal (u8).
    pub const RADIO: u8 = FactKind::Radio as u8;
    /// [`Fact::Service`](crate::Fact::Service): state (u8).
    pub const SERVICE: u8 = FactKind::Service as u8;
    /// [`Fact::Probe`](crate::Fact::Probe): ok (u8 0/1), rtt_ms (u32).
    pub const PROBE: u8 = FactKind::Probe as u8;
    /// [`Fact::Link`](crate::Fact::Link): connected (u8 0/1).
    pub const LINK: u8 = FactKind::Link as u8;
    /// [`Fact::E911Address`](crate::Fact::E911Address): registered (u8 0/1).
    pub const E911_ADDRESS: u8 = FactKind::E911Address as u8;
    /// [`Fact::Outage`](crate::Fact::Outage): active (u8 0/1).
    pub const OUTAGE: u8 = FactKind::Outage as u8;
    /// [`Fact::Psap`](crate::Fact::Psap): state (u8).
    pub const PSAP: u8 = FactKind::Psap as u8;
    /// [`Fact::PsapTextReady`](crate::Fact::PsapTextReady): ready (u8 0/1).
    pub const PSAP_TEXT_READY: u8 = FactKind::PsapTextReady as u8;
}

/// Outcome tags inside outcome records.
pub mod outcome {
    /// [`Outcome::Connected`](crate::Outcome::Connected): no payload.
    pub const CONNECTED: u8 = 1;
    /// [`Outcome::Rejected`](crate::Outcome::Rejected): cause (u8), code (u16).
    pub const REJECTED: u8 = 2;
    /// [`Outcome::TimedOut`](crate::Outcome::TimedOut): no payload.
    pub const TIMED_OUT: u8 = 3;
}

/// A batch that could not be encoded, decoded or applied. Decoding errors name the record by its
/// position in the batch (`index`, counting every record, skipped ones included) and the byte
/// offset of its first byte.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The batch is longer than [`MAX_BATCH_LEN`].
    #[error("batch is {len} bytes; at most {max} are accepted")]
    BatchTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The batch does not start with [`MAGIC`].
    #[error("batch does not start with the magic \"SOSU\" (found {found:02x?})")]
    BadMagic {
        /// The first bytes found (up to four).
        found: Vec<u8>,
    },
    /// The header ends early.
    #[error("batch header is {len} bytes; it needs {HEADER_LEN}")]
    TruncatedHeader {
        /// Bytes present.
        len: usize,
    },
    /// A version this decoder does not read.
    #[error("batch is format version {found}; this decoder reads version {VERSION}")]
    UnsupportedVersion {
        /// The version in the header.
        found: u8,
    },
    /// Header flags that version 1 does not define (all must be 0).
    #[error("batch header flags are {flags:#04x}; version {VERSION} defines none (must be 0)")]
    UnknownFlags {
        /// The flags byte.
        flags: u8,
    },
    /// More records than [`MAX_RECORDS`].
    #[error("batch has {count} records; at most {max} are accepted")]
    TooManyRecords {
        /// Records claimed (decoding) or given (encoding).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The header claims more records than the bytes after it could hold.
    #[error("batch header claims {count} records but only {available} bytes follow (each record takes at least {RECORD_HEADER_LEN})")]
    CountExceedsData {
        /// Records claimed.
        count: usize,
        /// Bytes after the header.
        available: usize,
    },
    /// A record's header or body runs past the end of the batch.
    #[error(
        "record {index} at byte {offset}: needs {needed} more bytes but only {available} remain"
    )]
    TruncatedRecord {
        /// Position in the batch.
        index: usize,
        /// Byte offset of the record.
        offset: usize,
        /// Bytes the record header or its length field calls for.
        needed: usize,
        /// Bytes left in the batch.
        available: usize,
    },
    /// A record body longer than [`MAX_RECORD_LEN`].
    #[error("record {index} at byte {offset}: body length {len} is over the limit of {max}")]
    RecordTooLong {
        /// Position in the batch.
        index: usize,
        /// Byte offset of the record.
        offset: usize,
        /// The length field.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A known record whose length field disagrees with what its contents need.
    #[error("record {index} at byte {offset}: a {kind} record of this content is {expected} bytes, but its length field says {len}")]
    LengthMismatch {
        /// Position in the batch.
        index: usize,
        /// Byte offset of the record.
        offset: usize,
        /// The record type's name.
        kind: &'static str,
        /// The length field.
        len: usize,
        /// The length its contents need (the least it could be, if too short to tell).
        expected: usize,
    },
    /// A value outside its field's range: an unknown enum value, fact or outcome tag, or a
    /// boolean other than 0 or 1.
    #[error("record {index} at byte {offset}: {field} = {value} is not a valid value")]
    BadValue {
        /// Position in the batch.
        index: usize,
        /// Byte offset of the record.
        offset: usize,
        /// The field, e.g. `radio.state`.
        field: &'static str,
        /// The value found.
        value: u32,
    },
    /// Bytes after the last record the header announced.
    #[error("{count} bytes follow the last record (which ends at byte {offset})")]
    TrailingBytes {
        /// Where the last record ends.
        offset: usize,
        /// How many bytes follow it.
        count: usize,
    },
    /// The batch decoded, but the router refused one of its updates (an undeclared component or
    /// route, a fact the subject cannot have, ...). Nothing was applied. `source` counts decoded
    /// updates, `index` every record; the message names the record only by `index`.
    #[error("record {index} at byte {offset} was refused: {}", refusal(source))]
    Refused {
        /// Position of the record in the batch.
        index: usize,
        /// Byte offset of the record.
        offset: usize,
        /// The router's reason.
        source: UpdateError,
    },
    /// The buffer given to [`encode_into`] has too little room.
    #[error("encoding needs {needed} bytes of buffer; {available} are free")]
    BufferTooSmall {
        /// Bytes the encoding takes.
        needed: usize,
        /// Room left in the buffer.
        available: usize,
    },
}

/// Defines decoding of a `#[repr(u32)]` enum from its wire byte. The exhaustive match fails to
/// compile when a variant is added without being listed, and the const asserts that every value
/// fits the byte it travels in.
macro_rules! wire_enum {
    ($fn:ident, $ty:ident, [$($v:ident),+ $(,)?]) => {
        fn $fn(value: u8) -> Option<$ty> {
            const _: () = { $(assert!(($ty::$v as u32) <= u8::MAX as u32);)+ };
            let _exhaustive = |x: $ty| match x { $($ty::$v => ()),+ };
            [$($ty::$v),+].into_iter().find(|x| *x as u32 == value as u32)
        }
    };
}

wire_enum!(
    radio_state,
    RadioState,
    [InService, LimitedService, NoService, Unknown]
);
wire_enum!(service_state, ServiceState, [Up, Down, Unknown]);
wire_enum!(
    psap_state,
    PsapState,
    [
        Normal,
        Overloaded,
        Down,
        Unreachable,
        GoingDown,
        ScheduledMaintenance,
        Unknown
    ]
);
wire_enum!(
    reject_cause,
    RejectCause,
    [NoSignal, Congestion, ServiceUnavailable, NotAllowed, Other]
);

/// The wire byte of a `#[repr(u32)]` enum value (checked to fit by `wire_enum!`).
fn enum_byte(value: u32) -> u8 {
    value as u8
}

/// Bytes of a fact's payload after its tag, or `None` for an unknown tag.
fn fact_payload_len(tag: u8) -> Option<usize> {
    match tag {
        fact::RADIO => Some(2),
        fact::PROBE => Some(5),
        fact::SERVICE
        | fact::LINK
        | fact::E911_ADDRESS
        | fact::OUTAGE
        | fact::PSAP
        | fact::PSAP_TEXT_READY => Some(1),
        _ => None,
    }
}

/// Bytes of an outcome's payload after its tag, or `None` for an unknown tag.
fn outcome_payload_len(tag: u8) -> Option<usize> {
    match tag {
        outcome::CONNECTED | outcome::TIMED_OUT => Some(0),
        outcome::REJECTED => Some(3),
        _ => None,
    }
}

fn outcome_tag(o: &Outcome) -> u8 {
    match o {
        Outcome::Connected => outcome::CONNECTED,
        Outcome::Rejected { .. } => outcome::REJECTED,
        Outcome::TimedOut => outcome::TIMED_OUT,
    }
}

/// Bytes before the fact / outcome tag in each known record type.
const COMPONENT_PREFIX: usize = 2 + 8;
const PSAP_PREFIX: usize = 4 + 8;
const OUTCOME_PREFIX: usize = 2 + 8;

/// Body length of one update's record.
fn body_len(u: &Update) -> usize {
    match u {
        Update::Observe(o) => {
            let prefix = match o.subject {
                Subject::Component(_) => COMPONENT_PREFIX,
                Subject::Psap(_) => PSAP_PREFIX,
            };
            // Every tag `fact_tag` returns has a payload length.
            prefix + 1 + fact_payload_len(o.fact.kind() as u8).unwrap_or(0)
        }
        Update::Outcome { outcome, .. } => {
            OUTCOME_PREFIX + 1 + outcome_payload_len(outcome_tag(outcome)).unwrap_or(0)
        }
    }
}

/// Bytes that [`encode`] produces for `updates`.
pub fn encoded_len(updates: &[Update]) -> usize {
    HEADER_LEN
        + updates
            .iter()
            .map(|u| RECORD_HEADER_LEN + body_len(u))
            .sum::<usize>()
}

/// Encodes a batch. Fails only if it has more than [`MAX_RECORDS`] updates.
pub fn encode(updates: &[Update]) -> Result<Bytes, WireError> {
    let mut buf = BytesMut::with_capacity(encoded_len(updates).min(MAX_BATCH_LEN));
    encode_into(updates, &mut buf)?;
    Ok(buf.freeze())
}

/// Encodes a batch at the end of `buf`. Fails, writing nothing, if it has more than
/// [`MAX_RECORDS`] updates or `buf` has too little room.
pub fn encode_into<B: BufMut>(updates: &[Update], buf: &mut B) -> Result<(), WireError> {
    let count = u16::try_from(updates.len())
        .ok()
        .filter(|&n| n as usize <= MAX_RECORDS)
        .ok_or(WireError::TooManyRecords {
            count: updates.len(),
            max: MAX_RECORDS,
        })?;
    let needed = encoded_len(updates);
    if needed > MAX_BATCH_LEN {
        // Unreachable with v1 records (4096 × 21 bytes fit), kept so the encoder can never
        // produce what the decoder refuses.
        return Err(WireError::BatchTooLong {
            len: needed,
            max: MAX_BATCH_LEN,
        });
    }
    if buf.remaining_mut() < needed {
        return Err(WireError::BufferTooSmall {
            needed,
            available: buf.remaining_mut(),
        });
    }
    buf.put_slice(&MAGIC);
    buf.put_u8(VERSION);
    buf.put_u8(0);
    buf.put_u16(count);
    for u in updates {
        put_record(u, buf);
    }
    Ok(())
}

fn put_record<B: BufMut>(u: &Update, buf: &mut B) {
    // At most 18 bytes: fits u16.
    let len = body_len(u) as u16;
    match *u {
        Update::Observe(Observation {
            subject,
            fact,
            at_ms,
        }) => {
            match subject {
                Subject::Component(c) => {
                    buf.put_u8(record::COMPONENT_FACT);
                    buf.put_u16(len);
                    buf.put_u16(c.0);
                }
                Subject::Psap(p) => {
                    buf.put_u8(record::PSAP_FACT);
                    buf.put_u16(len);
                    buf.put_u32(p.0);
                }
            }
            buf.put_u64(at_ms);
            buf.put_u8(fact.kind() as u8);
            match fact {
                Fact::Radio { state, signal } => {
                    buf.put_u8(enum_byte(state as u32));
                    buf.put_u8(signal.0);
                }
                Fact::Service { state } => buf.put_u8(enum_byte(state as u32)),
                Fact::Probe { ok, rtt_ms } => {
                    buf.put_u8(ok.into());
                    buf.put_u32(rtt_ms);
                }
                Fact::Link { connected: b }
                | Fact::E911Address { registered: b }
                | Fact::Outage { active: b }
                | Fact::PsapTextReady { ready: b } => buf.put_u8(b.into()),
                Fact::Psap { state } => buf.put_u8(enum_byte(state as u32)),
            }
        }
        Update::Outcome {
            route,
            outcome,
            at_ms,
        } => {
            buf.put_u8(record::OUTCOME);
            buf.put_u16(len);
            buf.put_u16(route.0);
            buf.put_u64(at_ms);
            buf.put_u8(outcome_tag(&outcome));
            if let Outcome::Rejected { cause, code } = outcome {
                buf.put_u8(enum_byte(cause as u32));
                buf.put_u16(code);
            }
        }
    }
}

/// Decodes a batch. Unknown record types are skipped; anything else wrong is an error naming the
/// record and the reason. Never panics; reserves memory only in proportion to `input.len()`.
pub fn decode(input: &[u8]) -> Result<Vec<Update>, WireError> {
    let mut out = Vec::new();
    decode_with(input, &mut out, |out, _, u| out.push(u))?;
    Ok(out)
}

/// A decoded update with where it came from.
#[derive(Debug, Clone, Copy)]
struct Located {
    index: usize,
    offset: usize,
    update: Update,
}

/// Decodes a batch, then applies it to `router` atomically and returns the new state epoch. A
/// batch that is malformed, or that the router refuses (see [`Router::apply`]), changes nothing;
/// the error names the record and why.
pub fn apply(router: &Router, input: &[u8]) -> Result<u64, WireError> {
    let mut located: Vec<Located> = Vec::new();
    decode_with(input, &mut located, |out, (index, offset), update| {
        out.push(Located {
            index,
            offset,
            update,
        })
    })?;
    router
        .apply(located.iter().map(|l| l.update))
        .map_err(|source| {
            let at = located.get(update_index(&source));
            WireError::Refused {
                index: at.map_or(0, |l| l.index),
                offset: at.map_or(HEADER_LEN, |l| l.offset),
                source,
            }
        })
}

/// The router's reason without its own "update N: " prefix: N counts decoded updates (skipped
/// records left out), so next to "record M" it would name one record two ways.
fn refusal(source: &UpdateError) -> String {
    let text = source.to_string();
    match text
        .strip_prefix("update ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((n, reason)) if n.bytes().all(|b| b.is_ascii_digit()) => reason.to_owned(),
        _ => text,
    }
}

/// Position, among the updates given to `Router::apply`, of the one it refused.
fn update_index(e: &UpdateError) -> usize {
    match *e {
        UpdateError::UnknownComponent { index, .. }
        | UpdateError::UnknownRoute { index, .. }
        | UpdateError::FactMismatch { index, .. }
        | UpdateError::UnknownPsap { index }
        | UpdateError::SignalOutOfRange { index, .. }
        | UpdateError::BatchTooLarge { index, .. } => index,
    }
}

/// Reads fixed-width big-endian fields from a record body whose length was checked beforehand;
/// each read still checks, so a miscounted layout is an error, never a panic.
struct Body<'a> {
    buf: &'a [u8],
    index: usize,
    offset: usize,
    kind: &'static str,
    len: usize,
}

impl Body<'_> {
    fn short(&self, expected: usize) -> WireError {
        WireError::LengthMismatch {
            index: self.index,
            offset: self.offset,
            kind: self.kind,
            len: self.len,
            expected,
        }
    }

    fn need(&self, n: usize) -> Result<(), WireError> {
        if self.buf.remaining() < n {
            Err(self.short(self.len - self.buf.remaining() + n))
        } else {
            Ok(())
        }
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        self.need(1)?;
        Ok(self.buf.get_u8())
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        self.need(2)?;
        Ok(self.buf.get_u16())
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        self.need(8)?;
        Ok(self.buf.get_u64())
    }

    fn bad(&self, field: &'static str, value: u8) -> WireError {
        WireError::BadValue {
            index: self.index,
            offset: self.offset,
            field,
            value: value.into(),
        }
    }

    fn bool(&mut self, field: &'static str) -> Result<bool, WireError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.bad(field, v)),
        }
    }

    fn enum_value<T>(
        &mut self,
        field: &'static str,
        from: fn(u8) -> Option<T>,
    ) -> Result<T, WireError> {
        let v = self.u8()?;
        from(v).ok_or_else(|| self.bad(field, v))
    }

    /// Checks the length field against what the record holds, given `prefix` bytes before the
    /// tag at that position and the tag's payload length.
    fn check_len(
        &self,
        prefix: usize,
        tag_field: &'static str,
        payload: fn(u8) -> Option<usize>,
    ) -> Result<(), WireError> {
        let Some(&tag) = self.buf.get(prefix) else {
            return Err(self.short(prefix + 1));
        };
        let expected = prefix + 1 + payload(tag).ok_or_else(|| self.bad(tag_field, tag))?;
        if self.len != expected {
            return Err(self.short(expected));
        }
        Ok(())
    }

    fn fact(&mut self) -> Result<Fact, WireError> {
        let tag = self.u8()?;
        Ok(match tag {
            fact::RADIO => Fact::Radio {
                state: self.enum_value("radio.state", radio_state)?,
                signal: SignalLevel(self.u8()?),
            },
            fact::SERVICE => Fact::Service {
                state: self.enum_value("service.state", service_state)?,
            },
            fact::PROBE => Fact::Probe {
                ok: self.bool("probe.ok")?,
                rtt_ms: self.u32()?,
            },
            fact::LINK => Fact::Link {
                connected: self.bool("link.connected")?,
            },
            fact::E911_ADDRESS => Fact::E911Address {
                registered: self.bool("e911_address.registered")?,
            },
            fact::OUTAGE => Fact::Outage {
                active: self.bool("outage.active")?,
            },
            fact::PSAP => Fact::Psap {
                state: self.enum_value("psap.state", psap_state)?,
            },
            fact::PSAP_TEXT_READY => Fact::PsapTextReady {
                ready: self.bool("psap_text_ready.ready")?,
            },
            other => return Err(self.bad("fact", other)),
        })
    }

    fn outcome(&mut self) -> Result<Outcome, WireError> {
        let tag = self.u8()?;
        Ok(match tag {
            outcome::CONNECTED => Outcome::Connected,
            outcome::TIMED_OUT => Outcome::TimedOut,
            outcome::REJECTED => Outcome::Rejected {
                cause: self.enum_value("rejected.cause", reject_cause)?,
                code: self.u16()?,
            },
            other => return Err(self.bad("outcome", other)),
        })
    }
}

/// Decodes one known record body; `None` for a type this version does not know.
fn decode_body(
    kind: u8,
    body: &[u8],
    index: usize,
    offset: usize,
) -> Result<Option<Update>, WireError> {
    let name = match kind {
        record::COMPONENT_FACT => "component fact",
        record::PSAP_FACT => "PSAP fact",
        record::OUTCOME => "outcome",
        _ => return Ok(None),
    };
    let mut b = Body {
        buf: body,
        index,
        offset,
        kind: name,
        len: body.len(),
    };
    let update = match kind {
        record::COMPONENT_FACT => {
            b.check_len(COMPONENT_PREFIX, "fact", fact_payload_len)?;
            let subject = Subject::Component(ComponentId(b.u16()?));
            let at_ms = b.u64()?;
            Update::Observe(Observation {
                subject,
                fact: b.fact()?,
                at_ms,
            })
        }
        record::PSAP_FACT => {
            b.check_len(PSAP_PREFIX, "fact", fact_payload_len)?;
            let subject = Subject::Psap(PsapId(b.u32()?));
            let at_ms = b.u64()?;
            Update::Observe(Observation {
                subject,
                fact: b.fact()?,
                at_ms,
            })
        }
        _ => {
            b.check_len(OUTCOME_PREFIX, "outcome", outcome_payload_len)?;
            let route = RouteId(b.u16()?);
            let at_ms = b.u64()?;
            Update::Outcome {
                route,
                outcome: b.outcome()?,
                at_ms,
            }
        }
    };
    if b.buf.has_remaining() {
        // `check_len` made the length exact; this guards the layout against itself.
        return Err(b.short(body.len() - b.buf.remaining()));
    }
    Ok(Some(update))
}

/// The decoder: validates the header, reserves room for at most as many updates as the bytes
/// present could hold, and hands each decoded update to `sink` with its record index and offset.
fn decode_with<T>(
    input: &[u8],
    out: &mut Vec<T>,
    mut sink: impl FnMut(&mut Vec<T>, (usize, usize), Update),
) -> Result<(), WireError> {
    let total = input.len();
    if total > MAX_BATCH_LEN {
        return Err(WireError::BatchTooLong {
            len: total,
            max: MAX_BATCH_LEN,
        });
    }
    let head = &input[..total.min(MAGIC.len())];
    if head != &MAGIC[..head.len()] {
        return Err(WireError::BadMagic {
            found: head.to_vec(),
        });
    }
    if total < HEADER_LEN {
        return Err(WireError::TruncatedHeader { len: total });
    }
    let mut buf = &input[MAGIC.len()..];
    let version = buf.get_u8();
    if version != VERSION {
        return Err(WireError::UnsupportedVersion { found: version });
    }
    let flags = buf.get_u8();
    if flags != 0 {
        return Err(WireError::UnknownFlags { flags });
    }
    let count = usize::from(buf.get_u16());
    if count > MAX_RECORDS {
        return Err(WireError::TooManyRecords {
            count,
            max: MAX_RECORDS,
        });
    }
    // Fail fast, before reserving anything, when the claimed count cannot fit the bytes present.
    if count.saturating_mul(RECORD_HEADER_LEN) > buf.remaining() {
        return Err(WireError::CountExceedsData {
            count,
            available: buf.remaining(),
        });
    }
    // Exactly: `reserve` would round small requests up to four updates.
    out.reserve_exact(count);
    for index in 0..count {
        let offset = total - buf.remaining();
        if buf.remaining() < RECORD_HEADER_LEN {
            return Err(WireError::TruncatedRecord {
                index,
                offset,
                needed: RECORD_HEADER_LEN,
                available: buf.remaining(),
            });
        }
        let kind = buf.get_u8();
        let len = usize::from(buf.get_u16());
        if len > MAX_RECORD_LEN {
            return Err(WireError::RecordTooLong {
                index,
                offset,
                len,
                max: MAX_RECORD_LEN,
            });
        }
        if len > buf.remaining() {
            return Err(WireError::TruncatedRecord {
                index,
                offset,
                needed: len,
                available: buf.remaining(),
            });
        }
        let (body, rest) = buf.split_at(len);
        buf = rest;
        if let Some(update) = decode_body(kind, body, index, offset)? {
            sink(out, (index, offset), update);
        }
    }
    if buf.has_remaining() {
        return Err(WireError::TrailingBytes {
            offset: total - buf.remaining(),
            count: buf.remaining(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    fn radio(c: u16, at: u64) -> Update {
        Update::Observe(Observation::component(
            ComponentId(c),
            Fact::Radio {
                state: RadioState::NoService,
                signal: SignalLevel(0),
            },
            at,
        ))
    }

    /// The example of WIRE.md, byte for byte: the spec and the code agree.
    #[test]
    fn layout_matches_the_spec() {
        let batch = [
            radio(0, 0x0102),
            Update::Observe(Observation::psap(
                PsapId(7),
                Fact::PsapTextReady { ready: true },
                5,
            )),
            Update::Outcome {
                route: RouteId(4),
                outcome: Outcome::Rejected {
                    cause: RejectCause::Congestion,
                    code: 503,
                },
                at_ms: 9,
            },
        ];
        let bytes = encode(&batch).unwrap();
        #[rustfmt::skip]
        let expected: &[u8] = &[
            b'S', b'O', b'S', b'U', 1, 0, 0, 3,
            // component fact: component 0, at 0x0102, radio no_service, 0 bars
            1, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 1, 3, 0,
            // PSAP fact: PSAP 7, at 5, psap_text_ready true
            2, 0, 14, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 5, 8, 1,
            // outcome: route 4, at 9, rejected congestion 503
            3, 0, 14, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 2, 2, 0x01, 0xf7,
        ];
        assert_eq!(&bytes[..], expected);
        assert_eq!(bytes.len(), encoded_len(&batch));
        assert_eq!(decode(&bytes).unwrap(), batch);
    }

    #[test]
    fn unknown_record_types_are_skipped_by_length() {
        let mut bytes = encode(&[radio(1, 1), radio(2, 2)]).unwrap().to_vec();
        // Insert a record of type 200 with a 5-byte body between the two, and bump the count.
        let second = HEADER_LEN + RECORD_HEADER_LEN + 13;
        bytes.splice(second..second, [200, 0, 5, 9, 9, 9, 9, 9]);
        bytes[7] = 3;
        assert_eq!(decode(&bytes).unwrap(), vec![radio(1, 1), radio(2, 2)]);
    }

    #[test]
    fn header_errors_say_what_is_wrong() {
        assert_eq!(
            decode(b"SOSX\x01\x00\x00\x00"),
            Err(WireError::BadMagic {
                found: b"SOSX".to_vec()
            })
        );
        assert_eq!(decode(b"SOS"), Err(WireError::TruncatedHeader { len: 3 }));
        assert_eq!(decode(b""), Err(WireError::TruncatedHeader { len: 0 }));
        assert_eq!(
            decode(b"SOSU\x02\x00\x00\x00"),
            Err(WireError::UnsupportedVersion { found: 2 })
        );
        assert_eq!(
            decode(b"SOSU\x01\x80\x00\x00"),
            Err(WireError::UnknownFlags { flags: 0x80 })
        );
        assert_eq!(
            decode(b"SOSU\x01\x00\xff\xff"),
            Err(WireError::TooManyRecords {
                count: 65535,
                max: MAX_RECORDS
            })
        );
        assert_eq!(
            decode(b"SOSU\x01\x00\x10\x00\x00\x00"),
            Err(WireError::CountExceedsData {
                count: 4096,
                available: 2
            })
        );
        assert_eq!(decode(b"SOSU\x01\x00\x00\x00"), Ok(vec![]));
        assert_eq!(
            decode(b"SOSU\x01\x00\x00\x00\x00"),
            Err(WireError::TrailingBytes {
                offset: 8,
                count: 1
            })
        );
        let long = vec![0u8; MAX_BATCH_LEN + 1];
        assert!(matches!(decode(&long), Err(WireError::BatchTooLong { .. })));
    }

    #[test]
    fn record_errors_name_the_record() {
        let good = encode(&[radio(1, 1), radio(2, 2)]).unwrap().to_vec();
        let second = HEADER_LEN + RECORD_HEADER_LEN + 13;

        let mut bad_state = good.clone();
        bad_state[second + RECORD_HEADER_LEN + 11] = 9; // radio.state
        let err = decode(&bad_state).unwrap_err();
        assert_eq!(
            err,
            WireError::BadValue {
                index: 1,
                offset: second,
                field: "radio.state",
                value: 9
            }
        );
        assert!(err.to_string().starts_with("record 1 at byte 24"), "{err}");

        let mut bad_tag = good.clone();
        bad_tag[second + RECORD_HEADER_LEN + 10] = 0; // fact tag
        assert!(matches!(
            decode(&bad_tag),
            Err(WireError::BadValue {
                index: 1,
                field: "fact",
                value: 0,
                ..
            })
        ));

        let mut bad_len = good.clone();
        bad_len[second + 2] = 12;
        bad_len.pop();
        assert_eq!(
            decode(&bad_len),
            Err(WireError::LengthMismatch {
                index: 1,
                offset: second,
                kind: "component fact",
                len: 12,
                expected: 13
            })
        );

        let truncated = &good[..good.len() - 1];
        assert_eq!(
            decode(truncated),
            Err(WireError::TruncatedRecord {
                index: 1,
                offset: second,
                needed: 13,
                available: 12
            })
        );

        let mut too_long = good.clone();
        too_long[second + 1] = 0x04;
        too_long[second + 2] = 0x01;
        assert!(matches!(
            decode(&too_long),
            Err(WireError::RecordTooLong {
                index: 1,
                len: 1025,
                ..
            })
        ));

        let mut bad_bool = encode(&[Update::Observe(Observation::component(
            ComponentId(4),
            Fact::Link { connected: true },
            0,
        ))])
        .unwrap()
        .to_vec();
        *bad_bool.last_mut().unwrap() = 2;
        assert!(matches!(
            decode(&bad_bool),
            Err(WireError::BadValue {
                field: "link.connected",
                value: 2,
                ..
            })
        ));
    }

    #[test]
    fn every_enum_value_round_trips_and_neighbours_are_refused() {
        for v in 0..=u8::MAX {
            if let Some(s) = radio_state(v) {
                assert_eq!(s as u32, u32::from(v));
            }
        }
        assert_eq!(radio_state(0), None);
        assert_eq!(radio_state(5), None);
        assert_eq!(service_state(4), None);
        assert_eq!(psap_state(8), None);
        assert_eq!(reject_cause(6), None);
        assert_eq!(reject_cause(5), Some(RejectCause::Other));
        assert_eq!(psap_state(6), Some(PsapState::ScheduledMaintenance));
    }

    #[test]
    fn encoder_refuses_what_the_decoder_would() {
        let many = vec![radio(0, 0); MAX_RECORDS + 1];
        assert_eq!(
            encode(&many),
            Err(WireError::TooManyRecords {
                count: MAX_RECORDS + 1,
                max: MAX_RECORDS
            })
        );
        let max = vec![radio(0, 0); MAX_RECORDS];
        assert_eq!(decode(&encode(&max).unwrap()).unwrap(), max);
        let mut small = [0u8; 10];
        let mut slice = &mut small[..];
        assert!(matches!(
            encode_into(&[radio(0, 0)], &mut slice),
            Err(WireError::BufferTooSmall { needed: 24, .. })
        ));
    }

    #[test]
    fn refused_batch_changes_nothing_and_names_the_record() {
        let router = Router::new(Policy::us_default());
        wire_apply_ok(&router);
        let before = router.snapshot();
        // Record 2 names component 99, which the policy does not declare; record 1 is skipped.
        let mut bytes = encode(&[radio(0, 10), radio(99, 11)]).unwrap().to_vec();
        let second = HEADER_LEN + RECORD_HEADER_LEN + 13;
        bytes.splice(second..second, [77, 0, 0]);
        bytes[7] = 3;
        let err = apply(&router, &bytes).unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Refused {
                    index: 2,
                    offset,
                    source: UpdateError::UnknownComponent { index: 1, component: 99, .. },
                } if offset == second + 3
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "record 2 at byte 27 was refused: component 99 is not declared by the policy in \
             force (7 components)"
        );
        assert_eq!(router.snapshot(), before);
    }

    fn wire_apply_ok(router: &Router) {
        let bytes = encode(&[radio(0, 1)]).unwrap();
        assert_eq!(apply(router, &bytes), Ok(1));
    }
}
