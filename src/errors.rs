//! Errors that keep their causes. [`Why`] carries either a sentence finepay wrote or the error
//! that went wrong (a transport failure, a parse error), whole, so that the error wrapping it can
//! name it as its `source` and the log can show the chain; [`chain`] prints that chain.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// What went wrong: finepay's own sentence, or another error kept whole with its own causes.
#[derive(Clone)]
pub struct Why(Arc<dyn Error + Send + Sync>);

impl Why {
    /// `error`, kept whole.
    pub fn of(error: impl Error + Send + Sync + 'static) -> Why {
        Why(Arc::new(error))
    }
}

impl From<String> for Why {
    fn from(text: String) -> Why {
        Why(Arc::from(Box::<dyn Error + Send + Sync>::from(text)))
    }
}

impl From<&str> for Why {
    fn from(text: &str) -> Why {
        Why::from(text.to_owned())
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `Why` stands for the error it holds: its causes are that error's causes.
impl Error for Why {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

/// Two reasons are the same when they read the same (tests compare outcomes that carry them).
impl PartialEq for Why {
    fn eq(&self, other: &Why) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Why {}

/// An error and its causes on one line, `outer: inner: innermost`; a cause whose text the error
/// already ends with (an error that prints its source) is said once.
pub(crate) fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the channel could not be reached: {0}")]
    struct Outer(#[source] Why);

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Middle(#[source] Inner);

    #[test]
    fn the_chain_names_every_cause_once() {
        let error = Outer(Why::of(Middle(Inner)));
        assert_eq!(chain(&error), "the channel could not be reached: error sending request: connection refused");
        let own = Outer(Why::from("HTTP 502"));
        assert_eq!(chain(&own), "the channel could not be reached: HTTP 502");
        assert_eq!(Why::from("x"), Why::from("x".to_owned()));
    }
}
