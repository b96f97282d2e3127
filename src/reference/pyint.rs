//! Python's `int(x)` of a float, written out exactly. Python integers are unbounded, so
//! `int(1e20)` prints all 21 digits; Django shows such values in `Max-Age` and signing
//! timestamps.

/// Decimal digits.
pub(crate) const DECIMAL: &[u8] = b"0123456789";

/// `int(value)` (truncation toward zero) written in the base `alphabet.len()`, `-` first when
/// negative. `None` for NaN and infinities, where Python raises.
pub(crate) fn trunc_to_radix(value: f64, alphabet: &[u8]) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    let truncated = value.trunc();
    let negative = truncated < 0.0;
    let digits = if truncated.abs() < 9_223_372_036_854_775_808.0 {
        // Below 2^63 the conversion is exact.
        let magnitude = (truncated.abs() as i64).unsigned_abs();
        radix_digits(vec![low_u32(magnitude), high_u32(magnitude)], alphabet)
    } else {
        radix_digits(float_magnitude_limbs(truncated.abs()), alphabet)
    };
    Some(if negative {
        format!("-{digits}")
    } else {
        digits
    })
}

/// `n` written in the base `alphabet.len()` (exact for every `i128`, `i128::MIN` included).
pub(crate) fn int_to_radix(n: i128, alphabet: &[u8]) -> String {
    let magnitude = n.unsigned_abs();
    let limbs = (0..4)
        .map(|i| ((magnitude >> (32 * i)) & 0xFFFF_FFFF) as u32)
        .collect();
    let digits = radix_digits(limbs, alphabet);
    if n < 0 { format!("-{digits}") } else { digits }
}

fn low_u32(n: u64) -> u32 {
    (n & 0xFFFF_FFFF) as u32
}

fn high_u32(n: u64) -> u32 {
    (n >> 32) as u32
}

/// An integral float of at least 2^63 as little-endian 32-bit limbs: mantissa << exponent.
fn float_magnitude_limbs(value: f64) -> Vec<u32> {
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7FF) as usize - 1075;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let (word_shift, bit_shift) = (exponent / 32, exponent % 32);
    let shifted = u128::from(mantissa) << bit_shift;
    let mut limbs = vec![0u32; word_shift];
    limbs.extend((0..3).map(|i| ((shifted >> (32 * i)) & 0xFFFF_FFFF) as u32));
    limbs
}

/// Repeated division of the limbs by the base, most significant digit first.
fn radix_digits(mut limbs: Vec<u32>, alphabet: &[u8]) -> String {
    let base = alphabet.len() as u64;
    let mut digits = Vec::new();
    loop {
        let mut remainder = 0u64;
        for limb in limbs.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / base) as u32;
            remainder = current % base;
        }
        digits.push(alphabet[remainder as usize]);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        if limbs.is_empty() {
            break;
        }
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_truncate_toward_zero() {
        assert_eq!(trunc_to_radix(10.7, DECIMAL).unwrap(), "10");
        assert_eq!(trunc_to_radix(-5.5, DECIMAL).unwrap(), "-5");
        assert_eq!(trunc_to_radix(-0.5, DECIMAL).unwrap(), "0");
        assert_eq!(trunc_to_radix(0.0, DECIMAL).unwrap(), "0");
    }

    #[test]
    fn huge_values_are_exact_like_python_ints() {
        // python3.11: str(int(1e20)), str(int(-2.0**63)), str(int(1.5e300))[:20], len(...)
        assert_eq!(
            trunc_to_radix(1e20, DECIMAL).unwrap(),
            "100000000000000000000"
        );
        assert_eq!(
            trunc_to_radix(-9_223_372_036_854_775_808.0, DECIMAL).unwrap(),
            "-9223372036854775808"
        );
        assert_eq!(
            trunc_to_radix(2f64.powi(64), DECIMAL).unwrap(),
            "18446744073709551616"
        );
        let big = trunc_to_radix(1.5e300, DECIMAL).unwrap();
        assert_eq!(&big[..20], "15000000000000000787");
        assert_eq!(big.len(), 301);
        assert_eq!(
            trunc_to_radix(f64::MAX, DECIMAL).unwrap().len(),
            309,
            "len(str(int(sys.float_info.max)))"
        );
    }

    #[test]
    fn non_finite_values_have_no_int() {
        assert_eq!(trunc_to_radix(f64::NAN, DECIMAL), None);
        assert_eq!(trunc_to_radix(f64::INFINITY, DECIMAL), None);
    }

    #[test]
    fn int_to_radix_covers_the_i128_range() {
        assert_eq!(
            int_to_radix(i64::MIN.into(), DECIMAL),
            "-9223372036854775808"
        );
        assert_eq!(int_to_radix(i64::MAX.into(), b"01"), "1".repeat(63));
        assert_eq!(
            int_to_radix(u64::MAX.into(), DECIMAL),
            "18446744073709551615"
        );
        assert_eq!(
            int_to_radix(i128::MIN, DECIMAL),
            "-170141183460469231731687303715884105728"
        );
        assert_eq!(int_to_radix(i128::MAX, b"01"), "1".repeat(127));
        assert_eq!(int_to_radix(0, DECIMAL), "0");
        assert_eq!(int_to_radix(-255, b"0123456789abcdef"), "-ff");
    }
}
