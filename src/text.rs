//! Bounds on text the library hands back: an error message quotes input (a TOML line, a dialled
//! string, a policy value), and input can be megabytes. A log line or a C buffer should not be.

/// Most bytes of an error message, its cut mark included: 1 KiB.
pub const MAX_ERROR_LEN: usize = 1024;

/// What ends a message that was cut.
pub const CUT_MARK: &str = "… (cut)";

/// `s` cut to at most `max` bytes (the mark included) on a UTF-8 boundary, ending in
/// [`CUT_MARK`] if anything was cut; `s` itself if it fits.
pub(crate) fn cut(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = max.saturating_sub(CUT_MARK.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + CUT_MARK.len());
    out.push_str(&s[..end]);
    out.push_str(CUT_MARK);
    std::borrow::Cow::Owned(out)
}

/// `s` cut in place, as [`cut`].
pub(crate) fn cut_owned(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max.saturating_sub(CUT_MARK.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(CUT_MARK);
    }
    s
}

/// `value` quoted as Rust's `{:?}` does, cut to `max` bytes: escaping can make a quoted value
/// several times longer than the value, so the quoted form is what gets cut.
pub(crate) fn quoted(value: &str, max: usize) -> String {
    // Only the head can survive the cut: quoting more than `max` bytes of input is wasted work
    // on a megabyte input (every byte quotes to at least one).
    let head = &value[..floor_boundary(value, max.saturating_add(1))];
    cut_owned(format!("{head:?}"), max)
}

fn floor_boundary(s: &str, at: usize) -> usize {
    let mut end = at.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_on_a_char_boundary() {
        assert_eq!(cut("abc", 10), "abc");
        let long = "é".repeat(1000); // 2000 bytes
        let c = cut(&long, MAX_ERROR_LEN);
        assert!(c.len() <= MAX_ERROR_LEN, "{}", c.len());
        assert!(c.ends_with(CUT_MARK));
        assert!(c.len() > MAX_ERROR_LEN - CUT_MARK.len() - 4);
        assert_eq!(cut_owned(long.clone(), MAX_ERROR_LEN), c);
        assert_eq!(cut_owned("abc".into(), 3), "abc");
    }

    #[test]
    fn quoting_is_cut_after_escaping() {
        let nasty = "\u{1}".repeat(10_000);
        let q = quoted(&nasty, 100);
        assert!(
            q.len() <= 100 && q.starts_with('"') && q.ends_with(CUT_MARK),
            "{q}"
        );
        assert_eq!(quoted("911", 100), "\"911\"");
        let exactly = "x".repeat(98);
        assert_eq!(quoted(&exactly, 100), format!("\"{exactly}\""));
    }
}
