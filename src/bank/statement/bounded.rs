//! A cap on how much input one token of a statement (an XML event, a CSV row) may span. The
//! parsers buffer a whole token before they hand it over, so without it a single unclosed quote
//! or a gigabyte of text in one element would be held in memory.

use std::io::{self, BufRead, Read};

/// Far above any real token (a remittance text is 140 characters) and far below harm.
pub(super) const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// Counts what is consumed since [`Bounded::start_token`] and fails the read that would pass the cap.
pub(super) struct Bounded<R> {
    inner: R,
    in_token: u64,
}

/// The error of a token over the cap: the file's fault, not the input's.
#[derive(Debug, thiserror::Error)]
#[error("a single element, text or row is longer than {} KiB", MAX_TOKEN_BYTES / 1024)]
struct TooLong;

/// Whether a read failed on the cap rather than on the input.
pub(super) fn is_too_long(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<TooLong>())
}

impl<R> Bounded<R> {
    pub(super) fn new(inner: R) -> Self {
        Bounded { inner, in_token: 0 }
    }

    /// Called by the parser before it reads the next token.
    pub(super) fn start_token(&mut self) {
        self.in_token = 0;
    }

    /// How much more the current token may take: one byte past the cap, so that passing it is seen.
    fn room(&mut self) -> io::Result<usize> {
        if self.in_token > MAX_TOKEN_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, TooLong));
        }
        Ok(usize::try_from(MAX_TOKEN_BYTES + 1 - self.in_token).unwrap_or(usize::MAX))
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = self.room()?;
        let len = room.min(buf.len());
        let n = self.inner.read(&mut buf[..len])?;
        self.in_token += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // Handing out no more than the room left makes the parser come back here before it can
        // take in more than the cap, even from an input that holds the whole file in one buffer.
        let room = self.room()?;
        let buf = self.inner.fill_buf()?;
        Ok(&buf[..room.min(buf.len())])
    }

    fn consume(&mut self, amount: usize) {
        self.in_token += amount as u64;
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_a_token_longer_than_the_cap_and_resets_between_tokens() {
        let data = vec![b'x'; 3 * MAX_TOKEN_BYTES as usize];
        let mut input = Bounded::new(&data[..]);
        let mut chunk = vec![0u8; MAX_TOKEN_BYTES as usize];
        input.read_exact(&mut chunk).expect("one cap's worth");
        input.start_token();
        input.read_exact(&mut chunk).expect("a new token may be as long again");
        input.read_exact(&mut chunk[..1]).expect("the cap itself is reached, not yet passed");
        assert!(input.fill_buf().is_err_and(|error| is_too_long(&error)));
    }
}
