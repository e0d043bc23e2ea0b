//! Numbers as text, written with integer arithmetic.
//!
//! Printing an `f64` the usual way (`format!("{x:.1}")`, `x.to_string()`) links core's general
//! float printer into the program: Grisu with a Dragon fallback and their tables, about 14 KB of
//! the page a learner downloads, and it stays as long as one float anywhere in the page is
//! printed that way. The page only ever shows numbers with a few decimals, and those integer
//! arithmetic writes exactly: [`Dec`] wraps an `f64` and prints it as core would, with the same
//! digits, so the page never needs core's printer.

use std::fmt;

/// An `f64` to print: `format!("{:.1}", Dec(x))` reads exactly as `format!("{x:.1}")` does.
///
/// - A precision (`{:.0}`, `{:.2}`) gives that many decimals, up to [`Dec::MAX_DECIMALS`].
/// - Without one it gives at most three decimals with trailing zeros trimmed: `720`, `0.6`,
///   `2.125`. (Core's `{}` gives the shortest text that reads back as the same `f64`, which is
///   the same text for every number with three decimals or fewer, the only kind the page prints
///   that way.)
/// - Rounding is exact, on the `f64`'s true binary value, and a true tie (only a binary fraction
///   such as `0.25` can be one) goes to the even digit, as core does: `0.25` is `0.2` at one
///   decimal, `0.35` (really 0.34999…) is `0.3`.
/// - `NaN`, `inf` and `-inf` read as core writes them; a negative number (`-0.0` too) gets its
///   `-`; a magnitude beyond [`Dec::LARGEST`] prints as that.
/// - Width, fill, alignment, `+` and `0` flags work as for integers (`{:>8.1}`, `{:+.0}`).
#[derive(Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Dec(pub f64);

impl Dec {
    /// The most decimals it writes; a larger precision gives this many.
    pub const MAX_DECIMALS: usize = 6;
    /// Larger magnitudes print as this one: ten million million (no figure of the lab comes
    /// near it), so that the value times a million still fits in a `u64`.
    pub const LARGEST: f64 = 1e13;
}

/// `v` (finite, from 0 to [`Dec::LARGEST`]) times `10^decimals`, rounded to the nearest integer,
/// a tie to the even one.
///
/// An `f64` is exactly `mantissa × 2^-shift`. So `v × 10^d` is `mantissa × 10^d / 2^shift`: the
/// product fits in a `u128` (a 53-bit mantissa times at most `10^6`, below `2^73`), and the
/// division by a power of two is a shift whose remainder says which way to round. No step
/// rounds, so the digits are the true ones.
fn scaled(v: f64, decimals: usize) -> u64 {
    let bits = v.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    // Subnormals (and zero) have no hidden leading bit and the smallest exponent.
    let (mantissa, shift) = if exponent == 0 { (fraction, 1074) } else { (fraction | 1 << 52, 1075 - exponent) };
    let n = u128::from(mantissa) * u128::from(10u64.pow(decimals as u32));
    // A value of at most LARGEST (below 2^52) always has a binary fraction: shift is at least 9.
    let shift = shift.max(1) as u32;
    if shift >= 128 {
        // Below 2^-54 even at six decimals: it rounds to zero.
        return 0;
    }
    let whole = n >> shift;
    let rest = n - (whole << shift);
    let half = 1u128 << (shift - 1);
    let up = rest > half || (rest == half && whole & 1 == 1);
    (whole + u128::from(up)) as u64
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            return f.write_str("NaN");
        }
        let non_negative = v.is_sign_positive();
        if v.is_infinite() {
            return f.write_str(if non_negative { "inf" } else { "-inf" });
        }
        let (mut decimals, trim) = match f.precision() {
            Some(p) => (p.min(Dec::MAX_DECIMALS), false),
            None => (3, true),
        };
        let mut n = scaled(v.abs().min(Dec::LARGEST), decimals);
        if trim {
            while decimals > 0 && n.is_multiple_of(10) {
                n /= 10;
                decimals -= 1;
            }
        }
        // Digits from the last one back, the point after `decimals` of them; at least one digit
        // before the point (`0.5`). 10^13 × 10^6 has 20 digits: with the point, 21 bytes.
        let mut text = [0u8; 24];
        let mut at = text.len();
        let mut written = 0;
        loop {
            at -= 1;
            text[at] = b'0' + (n % 10) as u8;
            n /= 10;
            written += 1;
            if written == decimals {
                at -= 1;
                text[at] = b'.';
            }
            if n == 0 && written > decimals {
                break;
            }
        }
        let digits = std::str::from_utf8(&text[at..]).map_err(|_| fmt::Error)?;
        // As integers are padded: the sign, the `+` flag, width and zero-fill, never cut short by
        // the precision (which `Formatter::pad` would take for a maximum width).
        f.pad_integral(non_negative, "", digits)
    }
}

/// The same text as [`Display`](fmt::Display), so that `{:?}` never reaches core's printer either.
impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_precision_gives_that_many_decimals() {
        assert_eq!(format!("{:.1}", Dec(4.26)), "4.3");
        assert_eq!(format!("{:.0}", Dec(987.5001)), "988");
        assert_eq!(format!("{:.2}", Dec(0.125)), "0.12");
        assert_eq!(format!("{:.3}", Dec(12.0)), "12.000");
        assert_eq!(format!("{:.1}", Dec(0.04)), "0.0");
        assert_eq!(format!("{:.6}", Dec(0.000_000_4)), "0.000000");
        let decimals = 4;
        assert_eq!(format!("{:.decimals$}", Dec(0.0432)), "0.0432");
    }

    #[test]
    fn without_a_precision_it_trims_to_three_decimals() {
        assert_eq!(Dec(720.0).to_string(), "720");
        assert_eq!(Dec(0.6).to_string(), "0.6");
        assert_eq!(Dec(0.1 + 0.2).to_string(), "0.3");
        assert_eq!(Dec(2.125).to_string(), "2.125");
        assert_eq!(Dec(1.0 / 3.0).to_string(), "0.333");
        assert_eq!(Dec(0.0).to_string(), "0");
        assert_eq!(Dec(1e-9).to_string(), "0");
    }

    #[test]
    fn ties_go_to_the_even_digit_as_core_does() {
        // True ties: binary fractions exactly halfway.
        assert_eq!(format!("{:.1}", Dec(0.25)), "0.2");
        assert_eq!(format!("{:.1}", Dec(0.75)), "0.8");
        assert_eq!(format!("{:.0}", Dec(0.5)), "0");
        assert_eq!(format!("{:.0}", Dec(1.5)), "2");
        assert_eq!(format!("{:.0}", Dec(2.5)), "2");
        // Not ties: 0.35 and 2.675 are a little below their decimal text.
        assert_eq!(format!("{:.1}", Dec(0.35)), "0.3");
        assert_eq!(format!("{:.2}", Dec(2.675)), "2.67");
    }

    #[test]
    fn signs_and_odd_values_read_as_core_writes_them() {
        assert_eq!(format!("{:.1}", Dec(-3.26)), "-3.3");
        assert_eq!(format!("{:.1}", Dec(-0.04)), "-0.0");
        assert_eq!(Dec(-0.0).to_string(), "-0");
        assert_eq!(Dec(f64::NAN).to_string(), "NaN");
        assert_eq!(format!("{:.1}", Dec(f64::INFINITY)), "inf");
        assert_eq!(Dec(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(format!("{:.1}", Dec(f64::MIN_POSITIVE / 4.0)), "0.0");
    }

    #[test]
    fn huge_values_saturate() {
        assert_eq!(Dec(1e300).to_string(), "10000000000000");
        assert_eq!(format!("{:.6}", Dec(-f64::MAX)), "-10000000000000.000000");
        assert_eq!(format!("{:.1}", Dec(9_999_999_999_999.96)), "10000000000000.0");
    }

    #[test]
    fn flags_pad_like_integers() {
        assert_eq!(format!("{:>7.1}", Dec(3.04159)), "    3.0");
        assert_eq!(format!("{:<6.0}|", Dec(42.0)), "42    |");
        assert_eq!(format!("{:+.1}", Dec(2.0)), "+2.0");
        assert_eq!(format!("{:06.1}", Dec(-2.5)), "-002.5");
        assert_eq!(format!("{:.20}", Dec(0.5)), "0.500000");
        assert_eq!(format!("{:?}", Dec(1.25)), "1.25");
    }

    /// Every precision the page uses, against core's own printer, over many values: small and
    /// large, halves, thirds and the kind of sums float arithmetic leaves behind.
    #[test]
    fn digits_match_cores() {
        let mut values = vec![0.0, 0.05, 0.15, 0.45, 1.005, 99.95, 999.5, 123_456.789, 0.1 + 0.7];
        let mut x = 0.000_123_f64;
        while x < 5e12 {
            values.extend([x, x / 3.0, x * 1.37, (x * 10.0).round() / 10.0 + 0.05]);
            x *= 1.618;
        }
        // An integer pattern walks the low bits, so the mantissas are not only round ones.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            values.push((seed % 100_000_000) as f64 / 1000.0);
            values.push((seed >> 11) as f64 / (1u64 << 53) as f64 * 1000.0);
        }
        for v in values.iter().flat_map(|v| [*v, -*v]) {
            for p in 0..=Dec::MAX_DECIMALS {
                assert_eq!(format!("{:.p$}", Dec(v)), format!("{v:.p$}"), "{v:e} at {p} decimals");
            }
            // Without a precision: core's shortest text, rounded to three decimals.
            let three = format!("{v:.3}");
            let trimmed = three.trim_end_matches('0').trim_end_matches('.');
            assert_eq!(Dec(v).to_string(), trimmed, "{v:e}");
        }
    }
}
