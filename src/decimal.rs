//! Decimal text of integers without the `fmt` machinery, for the two loops that write a
//! number per value: the ODBC fetch loop (source/values.rs) and the fixture generator.

/// Writes `value` in decimal (with a leading `-` when negative) into `buffer` and returns
/// the text; 20 bytes hold every i64, i64::MIN included.
pub fn i64_text(value: i64, buffer: &mut [u8; 20]) -> &str {
    let mut at = buffer.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    std::str::from_utf8(&buffer[at..]).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_standard_formatting() {
        for value in [0, 7, -7, 10, 1_000_000, i64::MAX, i64::MIN, -1_000_000_007] {
            assert_eq!(super::i64_text(value, &mut [0; 20]), value.to_string());
        }
    }
}
