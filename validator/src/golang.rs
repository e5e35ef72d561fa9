//! How Tetragon's Go code reads numbers and booleans out of policy strings: Go's `strconv`
//! rules, in one place. Selector values (`ParseInt`/`ParseUint` with base 0 in
//! `pkg/selectors/kernel.go`), option values (`ParseBool`, `ParseUint` in
//! `pkg/sensors/tracing/options.go`) and go-yaml v2's scalar resolution all go through these.

/// Why a text is not a number of the wanted type, as `strconv` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumError {
    /// Not a number at all (`strconv.ErrSyntax`).
    Syntax,
    /// A number, but outside the type (`strconv.ErrRange`).
    Range,
}

/// `strconv.ParseUint(text, 0, bits)`: no sign; `0x`, `0o`, `0b` or a leading `0` (octal) choose
/// the base; `_` may separate digits (and follow a base prefix); at most `bits` bits.
pub fn parse_uint(text: &str, bits: u32) -> Result<u64, NumError> {
    let b = text.as_bytes();
    if b.is_empty() {
        return Err(NumError::Syntax);
    }
    let (base, digits): (u64, &[u8]) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        }
    } else {
        (10, b)
    };
    let max: u64 = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    let mut range = false;
    for &c in digits {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            _ if c.is_ascii_alphabetic() => u64::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return Err(NumError::Syntax),
        };
        if d >= base {
            return Err(NumError::Syntax);
        }
        match n.checked_mul(base).and_then(|v| v.checked_add(d)) {
            Some(v) if v <= max => n = v,
            _ => {
                range = true;
                n = max;
            }
        }
    }
    if underscores && !underscore_ok(text) {
        return Err(NumError::Syntax);
    }
    if range {
        return Err(NumError::Range);
    }
    Ok(n)
}

/// `strconv.ParseInt(text, 0, bits)`: an optional `+` or `-`, then what [`parse_uint`] reads,
/// within a signed `bits`-bit integer.
pub fn parse_int(text: &str, bits: u32) -> Result<i64, NumError> {
    let (neg, body) = match text.as_bytes().first() {
        None => return Err(NumError::Syntax),
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        Some(_) => (false, text),
    };
    // A syntax error in the digits is a syntax error; a huge number is out of range.
    let u = parse_uint(body, 64)?;
    let bits = bits.clamp(1, 64);
    let cutoff: u64 = 1u64 << (bits - 1);
    if neg {
        if u > cutoff {
            return Err(NumError::Range);
        }
        Ok((u as i64).wrapping_neg())
    } else {
        if u >= cutoff {
            return Err(NumError::Range);
        }
        Ok(u as i64)
    }
}

/// Go's `underscoreOK`: every `_` sits between digits, or between a base prefix and a digit.
fn underscore_ok(text: &str) -> bool {
    let mut s = text.as_bytes();
    if let Some(b'-' | b'+') = s.first() {
        s = &s[1..];
    }
    // The last class seen: b'^' start, b'0' digit or base prefix, b'_' underscore, b'!' other.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(text, 10, bits)`: decimal digits only, no sign, no base prefix and
/// no `_` (those need base 0, see [`parse_uint`]).
pub fn parse_uint10(text: &str, bits: u32) -> Result<u64, NumError> {
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(NumError::Syntax);
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    match text.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(NumError::Range),
    }
}

/// Go's `strconv.ParseInt(text, 10, bits)`: an optional `+` or `-`, then decimal digits.
pub fn parse_int10(text: &str, bits: u32) -> Result<i64, NumError> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let u = parse_uint10(body, 64)?;
    let cutoff = 1u64 << (bits.clamp(1, 64) - 1);
    if (!neg && u >= cutoff) || (neg && u > cutoff) {
        return Err(NumError::Range);
    }
    let n = i128::from(u);
    Ok((if neg { -n } else { n }) as i64)
}

/// `strconv.Atoi` on a 64-bit machine: [`parse_int10`] within `i64`.
pub fn atoi(text: &str) -> Option<i64> {
    parse_int10(text, 64).ok()
}

/// `strconv.ParseBool`: `1`, `t`, `T`, `TRUE`, `true`, `True` and `0`, `f`, `F`, `FALSE`,
/// `false`, `False`; anything else is an error.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases from Go's `strconv` documentation and tests (`atoi_test.go`), as results.
    #[test]
    fn parse_int_base0_as_go() {
        let ok: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+1", 1),
            ("12345", 12345),
            ("-12345", -12345),
            ("012345", 0o12345),
            ("0x10", 16),
            ("0X10", 16),
            ("-0x10", -16),
            ("0o17", 15),
            ("0b101", 5),
            ("1_000", 1000),
            ("0x_1F", 31),
            ("0_7", 7),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ];
        for (t, want) in ok {
            assert_eq!(parse_int(t, 64), Ok(*want), "{t}");
        }
        let bad: &[(&str, NumError)] = &[
            ("", NumError::Syntax),
            ("-", NumError::Syntax),
            ("0x", NumError::Syntax),
            ("0x-9", NumError::Syntax),
            ("1__0", NumError::Syntax),
            ("_1", NumError::Syntax),
            ("1_", NumError::Syntax),
            ("0x_", NumError::Syntax),
            ("08", NumError::Syntax),
            ("12a", NumError::Syntax),
            (" 1", NumError::Syntax),
            ("9223372036854775808", NumError::Range),
            ("-9223372036854775809", NumError::Range),
        ];
        for (t, want) in bad {
            assert_eq!(parse_int(t, 64), Err(*want), "{t}");
        }
        assert_eq!(parse_int("2147483647", 32), Ok(2_147_483_647));
        assert_eq!(parse_int("2147483648", 32), Err(NumError::Range));
        assert_eq!(parse_int("-2147483648", 32), Ok(-2_147_483_648));
    }

    #[test]
    fn parse_uint_base0_as_go() {
        assert_eq!(parse_uint("4294967295", 32), Ok(u64::from(u32::MAX)));
        assert_eq!(parse_uint("4294967296", 32), Err(NumError::Range));
        assert_eq!(parse_uint("18446744073709551615", 64), Ok(u64::MAX));
        assert_eq!(parse_uint("18446744073709551616", 64), Err(NumError::Range));
        assert_eq!(parse_uint("-1", 64), Err(NumError::Syntax));
        assert_eq!(parse_uint("+1", 64), Err(NumError::Syntax));
        assert_eq!(parse_uint("0xffffffff", 32), Ok(0xffff_ffff));
    }

    #[test]
    fn parse_bool_as_go() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for t in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(t), Some(false), "{t}");
        }
        for t in ["yes", "on", "tRUE", "", "2"] {
            assert_eq!(parse_bool(t), None, "{t}");
        }
    }

    #[test]
    fn base10_integers() {
        assert_eq!(parse_int10("-5", 64), Ok(-5));
        assert_eq!(parse_int10("+5", 64), Ok(5));
        assert_eq!(parse_int10("007", 64), Ok(7));
        assert_eq!(parse_int10("1_000", 64), Err(NumError::Syntax));
        assert_eq!(parse_int10("0x10", 64), Err(NumError::Syntax));
        assert_eq!(parse_int10("-", 64), Err(NumError::Syntax));
        assert_eq!(parse_int10(" 5", 64), Err(NumError::Syntax));
        assert_eq!(parse_int10("-9223372036854775808", 64), Ok(i64::MIN));
        assert_eq!(parse_int10("9223372036854775808", 64), Err(NumError::Range));
        assert_eq!(parse_uint10("-1", 64), Err(NumError::Syntax));
        assert_eq!(parse_uint10("+1", 64), Err(NumError::Syntax));
        assert_eq!(parse_uint10("4294967295", 32), Ok(4_294_967_295));
        assert_eq!(parse_uint10("4294967296", 32), Err(NumError::Range));
        assert_eq!(parse_uint10("18446744073709551615", 64), Ok(u64::MAX));
        assert_eq!(
            parse_uint10("18446744073709551616", 64),
            Err(NumError::Range)
        );
    }
}
