//! RFC 8259's grammar, checked in one pass without building anything: every uncached token's
//! claims go through here, and serde_json's per-value dispatch cost more than the rest of the
//! claim checks together. Values are only skipped; whoever reads one parses its raw text, with
//! serde_json or, for a string without escapes, as the bytes between its quotes, so what is
//! accepted here must be what serde_json accepts (a test compares them).
//!
//! The one difference: nesting inside a member is limited to [`MAX_NESTING`] levels, where
//! serde_json skips any depth. No JOSE document nests that deep, and serde_json refuses to read
//! one that does.

use std::borrow::Cow;

use super::NotAnObject;

/// Arrays and objects open at once inside one member, at most.
pub(super) const MAX_NESTING: u32 = 128;

/// Calls `each` with every top-level member of the one object `text` holds: the name, and the
/// value's raw JSON text.
pub(super) fn members<'a>(
    text: &'a str,
    mut each: impl FnMut(Cow<'a, str>, &'a str),
) -> Result<(), NotAnObject> {
    let mut reader = Reader { text, at: 0 };
    reader.expect(b'{')?;
    if !reader.eat(b'}') {
        loop {
            let name = reader.name()?;
            // The raw text starts at the value itself, as serde_json's `RawValue` does.
            reader.skip_whitespace();
            let start = reader.at;
            reader.value()?;
            each(name, text.get(start..reader.at).ok_or(NotAnObject)?);
            if reader.eat(b',') {
                continue;
            }
            reader.expect(b'}')?;
            break;
        }
    }
    reader.skip_whitespace();
    if reader.at == text.len() {
        Ok(())
    } else {
        Err(NotAnObject)
    }
}

struct Reader<'a> {
    /// Valid UTF-8 already: only ASCII is looked at, and slices end next to ASCII bytes.
    text: &'a str,
    at: usize,
}

/// Which arrays and objects are open around the reader, innermost last.
struct Nesting {
    objects: u128,
    depth: u32,
}

impl Nesting {
    fn open(&mut self, object: bool) -> Result<(), NotAnObject> {
        if self.depth == MAX_NESTING {
            return Err(NotAnObject);
        }
        self.objects = self.objects << 1 | u128::from(object);
        self.depth += 1;
        Ok(())
    }

    /// Whether the innermost open value is an object; `None` at the top.
    fn innermost_is_object(&self) -> Option<bool> {
        (self.depth > 0).then_some(self.objects & 1 == 1)
    }

    fn close(&mut self) {
        self.objects >>= 1;
        self.depth -= 1;
    }
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace and `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8) -> Result<(), NotAnObject> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(NotAnObject)
        }
    }

    /// A member name and its colon, read without decoding; returns where the name's text
    /// starts and ends (inside its quotes) and whether it holds escapes.
    fn skip_name(&mut self) -> Result<(usize, usize, bool), NotAnObject> {
        self.expect(b'"')?;
        let start = self.at;
        let escaped = self.string()?;
        let end = self.at - 1;
        self.expect(b':')?;
        Ok((start, end, escaped))
    }

    /// A top-level member name and its colon, borrowed unless it holds escapes (decoded by
    /// serde_json, which also refuses an escaped lone surrogate in a name it decodes).
    fn name(&mut self) -> Result<Cow<'a, str>, NotAnObject> {
        let (start, end, escaped) = self.skip_name()?;
        if escaped {
            let quoted = self.text.get(start - 1..=end).ok_or(NotAnObject)?;
            serde_json::from_str(quoted)
                .map(Cow::Owned)
                .map_err(|_| NotAnObject)
        } else {
            self.text
                .get(start..end)
                .map(Cow::Borrowed)
                .ok_or(NotAnObject)
        }
    }

    /// One value, whatever it nests: a loop with the open arrays and objects kept as bits, so
    /// no input can exhaust the stack.
    fn value(&mut self) -> Result<(), NotAnObject> {
        let mut nesting = Nesting {
            objects: 0,
            depth: 0,
        };
        loop {
            self.skip_whitespace();
            let first = self.peek().ok_or(NotAnObject)?;
            self.at += 1;
            match first {
                b'"' => {
                    self.string()?;
                }
                b'{' if !self.eat(b'}') => {
                    nesting.open(true)?;
                    self.skip_name()?;
                    continue;
                }
                b'[' if !self.eat(b']') => {
                    nesting.open(false)?;
                    continue;
                }
                // `{}` or `[]`, read by the guards above.
                b'{' | b'[' => {}
                b't' => self.literal(b"rue")?,
                b'f' => self.literal(b"alse")?,
                b'n' => self.literal(b"ull")?,
                b'-' | b'0'..=b'9' => {
                    self.at -= 1;
                    self.number()?;
                }
                _ => return Err(NotAnObject),
            }
            // A value ended: close what it ends, until a comma asks for the next one.
            loop {
                let Some(object) = nesting.innermost_is_object() else {
                    return Ok(());
                };
                if self.eat(b',') {
                    if object {
                        self.skip_name()?;
                    }
                    break;
                }
                self.expect(if object { b'}' } else { b']' })?;
                nesting.close();
            }
        }
    }

    fn literal(&mut self, rest: &[u8]) -> Result<(), NotAnObject> {
        if self
            .bytes()
            .get(self.at..)
            .is_some_and(|tail| tail.starts_with(rest))
        {
            self.at += rest.len();
            Ok(())
        } else {
            Err(NotAnObject)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; a digit after a leading zero
    /// is left for the caller, which refuses it as a missing comma.
    fn number(&mut self) -> Result<(), NotAnObject> {
        self.at += usize::from(self.peek() == Some(b'-'));
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(NotAnObject),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(NotAnObject);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(NotAnObject);
            }
        }
        Ok(())
    }

    /// The rest of a string whose opening quote is read, up to and past its closing quote.
    /// Returns whether it holds an escape. Inlined: a claim set is mostly short strings, and
    /// the call cost as much as scanning one.
    #[inline(always)]
    fn string(&mut self) -> Result<bool, NotAnObject> {
        let mut escaped = false;
        loop {
            self.at += plain_run(self.bytes().get(self.at..).unwrap_or_default());
            match self.peek().ok_or(NotAnObject)? {
                b'"' => {
                    self.at += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    self.escape()?;
                }
                // A control character, which must be escaped.
                _ => return Err(NotAnObject),
            }
        }
    }

    /// What follows a backslash. A `\u` escape is not checked for surrogates, as serde_json
    /// does not when it skips a value; a reader that decodes it does.
    fn escape(&mut self) -> Result<(), NotAnObject> {
        let next = self.peek().ok_or(NotAnObject)?;
        self.at += 1;
        match next {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => match self.bytes().get(self.at..self.at + 4) {
                Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => {
                    self.at += 4;
                    Ok(())
                }
                _ => Err(NotAnObject),
            },
            _ => Err(NotAnObject),
        }
    }
}

/// How many bytes at the start of `bytes` need no attention inside a string: neither a quote,
/// a backslash nor a control character. Eight bytes are tested at once.
#[inline(always)]
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |word: u64, byte: u8| word.wrapping_sub(ONES * u64::from(byte)) & !word & HIGHS;
    let mut run = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // A flag in the high bit of each byte that is a quote, a backslash or below 0x20. Only
        // flags above a true one can be false, so the lowest flag is exact.
        let flags =
            below(word ^ (ONES * 0x22), 1) | below(word ^ (ONES * 0x5C), 1) | below(word, 0x20);
        if flags != 0 {
            return run + (flags.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    run + bytes[run..]
        .iter()
        .take_while(|&&byte| byte != b'"' && byte != b'\\' && byte >= 0x20)
        .count()
}

#[cfg(test)]
mod tests;
