//! Strict base64url without padding (RFC 7515 §2, RFC 4648 §5), decoded with tables.
//!
//! Every uncached token decodes a kilobyte or more here, and the general-purpose decoder cost
//! more than any other step beside the signature itself. Four tables, one per position in a
//! group of four characters, hold each character's six bits already shifted into place, so a
//! group is four lookups and three ORs; an invalid character sets bits no valid group can, so
//! one comparison checks all four. Refused like the `base64` crate's `URL_SAFE_NO_PAD`: any byte
//! outside the alphabet (`=` too), a length of 4n+1, and bits left over at the end that are
//! not zero (a non-canonical encoding).

/// Set in a table entry for a byte outside the alphabet.
const INVALID: u32 = 1 << 31;

/// The six bits of a base64url character, or `None`.
const fn sextet(byte: u8) -> Option<u32> {
    match byte {
        b'A'..=b'Z' => Some((byte - b'A') as u32),
        b'a'..=b'z' => Some((byte - b'a') as u32 + 26),
        b'0'..=b'9' => Some((byte - b'0') as u32 + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// The table for position `position` (0 to 3) in a group: the sextet shifted so that a group
/// ORs into `b0 << 16 | b1 << 8 | b2`.
const fn table(position: u32) -> [u32; 256] {
    let mut table = [INVALID; 256];
    let mut byte = 0;
    while byte < 256 {
        if let Some(bits) = sextet(byte as u8) {
            table[byte] = bits << (18 - 6 * position);
        }
        byte += 1;
    }
    table
}

static TABLES: [[u32; 256]; 4] = [table(0), table(1), table(2), table(3)];

/// The 24 bits four characters carry, with [`INVALID`] set if one is not base64url.
fn group_bits(group: &[u8]) -> u32 {
    match group {
        [a, b, c, d] => {
            TABLES[0][usize::from(*a)]
                | TABLES[1][usize::from(*b)]
                | TABLES[2][usize::from(*c)]
                | TABLES[3][usize::from(*d)]
        }
        _ => INVALID,
    }
}

/// A segment that is not strict base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotBase64Url;

/// Decodes `text`, refusing anything `URL_SAFE_NO_PAD` refuses.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, NotBase64Url> {
    let tail_len = text.len() % 4;
    if tail_len == 1 {
        return Err(NotBase64Url);
    }
    let groups = text.len() / 4;
    let mut out = vec![0u8; groups * 3 + tail_len.saturating_sub(1)];
    let (whole, tail) = text.split_at(groups * 4);
    let (out_whole, out_tail) = out.split_at_mut(groups * 3);
    // Two groups at a time: one validity test and one store for eight characters.
    let mut pairs = whole.chunks_exact(8);
    let mut out_pairs = out_whole.chunks_exact_mut(6);
    for (pair, bytes) in pairs.by_ref().zip(out_pairs.by_ref()) {
        let first = group_bits(&pair[..4]);
        let second = group_bits(&pair[4..]);
        if (first | second) & INVALID != 0 {
            return Err(NotBase64Url);
        }
        let both = u64::from(first) << 24 | u64::from(second);
        bytes.copy_from_slice(&both.to_be_bytes()[2..]);
    }
    // An odd group left over: four characters into the last three bytes of `out_whole`.
    let last_group = out_pairs.into_remainder();
    if !pairs.remainder().is_empty() {
        let bits = group_bits(pairs.remainder());
        if bits & INVALID != 0 {
            return Err(NotBase64Url);
        }
        last_group.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    if let [first, rest @ ..] = tail {
        let mut bits = TABLES[0][usize::from(*first)];
        for (position, byte) in rest.iter().enumerate() {
            bits |= TABLES[position + 1][usize::from(*byte)];
        }
        // Two characters carry one byte and four spare bits, three carry two and two spare.
        let spare_bits = if tail.len() == 2 { 0xFFFF } else { 0xFF };
        if bits & INVALID != 0 || bits & spare_bits != 0 {
            return Err(NotBase64Url);
        }
        out_tail.copy_from_slice(&bits.to_be_bytes()[1..tail.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    /// Agrees with the `base64` crate on every input here: the answer, or a refusal.
    fn agrees(text: &[u8]) {
        assert_eq!(
            decode(text).ok(),
            URL_SAFE_NO_PAD.decode(text).ok(),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }

    #[test]
    fn round_trips_every_length_and_byte() {
        let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in 0..bytes.len() {
            let encoded = URL_SAFE_NO_PAD.encode(&bytes[..len]);
            assert_eq!(decode(encoded.as_bytes()), Ok(bytes[..len].to_vec()));
        }
    }

    #[test]
    fn refuses_what_url_safe_no_pad_refuses() {
        for text in [
            "A", "AAAAA", "QQ==", "QQ=", "QUI=", "a+b/", "ab c", "ab\n", "ab.c", "QR", "QUJ",
            "QUI", "Q\u{e9}", "\0\0", "-_-_", "____", "__8", "_w",
        ] {
            agrees(text.as_bytes());
        }
        assert_eq!(decode(b"QR"), Err(NotBase64Url), "spare bits set");
        assert_eq!(decode(b"QUJ"), Err(NotBase64Url), "spare bits set");
        assert_eq!(decode(b""), Ok(Vec::new()));
    }

    #[test]
    fn a_bad_character_anywhere_in_a_pair_of_groups_or_the_odd_group_is_refused() {
        let valid = URL_SAFE_NO_PAD.encode(b"0123456789abcdefghij");
        for len in [8, 12, 16, 20, 22, 23] {
            for position in 0..len {
                for bad in [b'=', b'+', b'.', 0xFF] {
                    let mut text = valid.as_bytes()[..len].to_vec();
                    text[position] = bad;
                    agrees(&text);
                    assert!(decode(&text).is_err(), "{len} {position}");
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_base64_crate_on_every_short_string_of_a_sample_alphabet() {
        // Every string of up to five bytes over the alphabet's edges and its near misses.
        let sample = b"AZaz09-_+/=.@[`{";
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..5 {
            texts = texts
                .iter()
                .flat_map(|text| {
                    sample.iter().map(move |byte| {
                        let mut longer = text.clone();
                        longer.push(*byte);
                        longer
                    })
                })
                .collect();
            for text in &texts {
                agrees(text);
            }
        }
        for byte in 0..=255u8 {
            agrees(&[b'Q', b'Q', b'Q', byte]);
            agrees(&[byte, b'A', b'A']);
        }
    }
}
