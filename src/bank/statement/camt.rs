//! camt.053 (BankToCustomerStatement) and camt.054 (BankToCustomerDebitCreditNotification),
//! versions .02 to .13, read as a stream of XML events, one `Ntry` at a time: memory stays the same
//! for a 200 MB file, and no text, nesting or entry a hostile file holds can grow it.

mod entry;
mod namespaces;
mod paths;

use super::bounded::{self, Bounded};
use super::{Format, ISO_NAMESPACE_PREFIX, Item, StatementError};
use entry::Entry;
use namespaces::Namespaces;
use paths::{Field, Tag, field_at, is_entry, tag};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::io::BufRead;

/// camt nests about 10 deep; supplementary data a little deeper.
const MAX_DEPTH: usize = 64;
/// A remittance text is at most 140 characters, a reference 35.
const MAX_TEXT: usize = 1024;
const VERSIONS: std::ops::RangeInclusive<u32> = 2..=13;

pub(super) struct CamtReader<R> {
    xml: Reader<Bounded<R>>,
    /// quick-xml's event buffer, reused: it holds one event at a time.
    buf: Vec<u8>,
    state: State,
}

impl<R: BufRead> CamtReader<R> {
    pub(super) fn new(format: Format, input: Bounded<R>) -> Result<Self, StatementError> {
        let state = State {
            format,
            namespaces: Namespaces::default(),
            path: Vec::with_capacity(MAX_DEPTH),
            capture: None,
            text: String::with_capacity(MAX_TEXT),
            text_too_long: false,
            entry: Entry::default(),
            ordinal: 0,
            account: None,
            done: false,
        };
        let mut reader = CamtReader { xml: Reader::from_reader(input), buf: Vec::new(), state };
        reader.open_document().map_err(|error| match error {
            StatementError::Malformed { message, .. } => StatementError::NotAStatement(message),
            other => other,
        })?;
        Ok(reader)
    }

    /// Reads up to the message's root element, checking the namespace on the way.
    fn open_document(&mut self) -> Result<(), StatementError> {
        let format = self.state.format;
        let (message, root) = match format {
            Format::Camt053 => ("camt.053.001.", "BkToCstmrStmt"),
            _ => ("camt.054.001.", "BkToCstmrDbtCdtNtfctn"),
        };
        loop {
            self.xml.get_mut().start_token();
            self.buf.clear();
            let event = self.xml.read_event_into(&mut self.buf).map_err(|error| failure(&self.xml, error))?;
            let not_a_statement = |message: String| Err(StatementError::NotAStatement(message));
            match event {
                Event::Decl(declaration) => {
                    if let Some(Ok(encoding)) = declaration.encoding()
                        && !matches!(encoding.to_ascii_lowercase().as_slice(), b"utf-8" | b"utf8")
                    {
                        let encoding = String::from_utf8_lossy(&encoding);
                        return not_a_statement(format!("the file is in {encoding}; only UTF-8 is read"));
                    }
                }
                Event::Start(start) => {
                    let local = String::from_utf8_lossy(start.local_name().into_inner()).into_owned();
                    if self.state.path.is_empty() {
                        if local != "Document" {
                            return not_a_statement(format!("the root element is <{local}>, not <Document>"));
                        }
                        let Some(namespace) = Namespaces::declared_by_root(&start) else {
                            return not_a_statement(format!("<Document> is in no namespace, not {message}NN"));
                        };
                        let name = String::from_utf8_lossy(&namespace).into_owned();
                        let version = name.strip_prefix(ISO_NAMESPACE_PREFIX).and_then(|m| m.strip_prefix(message));
                        let version = version.filter(|v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit()));
                        if !version.and_then(|v| v.parse().ok()).is_some_and(|v| VERSIONS.contains(&v)) {
                            return not_a_statement(format!("the namespace {name} is not {message}02 to .13"));
                        }
                        self.state.namespaces.set_camt(namespace);
                        self.state.namespaces.enter(1, &start);
                        self.state.path.push(Tag::Document);
                    } else if local != root || !self.state.namespaces.enter(2, &start) {
                        return not_a_statement(format!("<Document> holds <{local}>, not <{root}>"));
                    } else {
                        self.state.path.push(Tag::Root);
                        return Ok(());
                    }
                }
                Event::Empty(_) | Event::End(_) => return not_a_statement("the document holds no message".to_owned()),
                Event::Text(text) if !text.iter().all(u8::is_ascii_whitespace) => {
                    return not_a_statement("the file does not start with an XML element".to_owned());
                }
                Event::Eof => return not_a_statement("the file holds no XML element".to_owned()),
                _ => {}
            }
        }
    }

    pub(super) fn next_item(&mut self) -> Result<Option<Item>, StatementError> {
        while !self.state.done {
            self.xml.get_mut().start_token();
            self.buf.clear();
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(error) => return Err(self.failed(failure(&self.xml, error))),
            };
            match step(&mut self.state, event) {
                Ok(Some(item)) => return Ok(Some(item)),
                Ok(None) if self.state.path.last() == Some(&Tag::Other) => {
                    if let Some(item) = self.skip_element()? {
                        return Ok(Some(item));
                    }
                }
                Ok(None) => {}
                Err(message) => return Err(self.malformed(message)),
            }
        }
        Ok(None)
    }

    /// Reads past the content of the element just opened, one this reader does not know: nothing
    /// inside it can be a value the reader keeps (no path in `field_at` goes through `Other`), and
    /// not looking at it saves about 15% of the time on a detailed bank file.
    fn skip_element(&mut self) -> Result<Option<Item>, StatementError> {
        let opened = self.state.path.len();
        let mut depth = opened;
        loop {
            self.xml.get_mut().start_token();
            self.buf.clear();
            let message = match self.xml.read_event_into(&mut self.buf) {
                Ok(Event::Start(_)) if depth < MAX_DEPTH => {
                    depth += 1;
                    continue;
                }
                Ok(Event::Start(_)) => too_deep(),
                Ok(Event::End(_)) if depth > opened => {
                    depth -= 1;
                    continue;
                }
                Ok(Event::End(_)) => return self.state.close().map_err(|message| self.malformed(message)),
                Ok(Event::Eof) => TRUNCATED.to_owned(),
                Ok(_) => continue,
                Err(error) => return Err(self.failed(failure(&self.xml, error))),
            };
            return Err(self.malformed(message));
        }
    }

    fn malformed(&mut self, message: String) -> StatementError {
        let at_byte = self.xml.buffer_position();
        self.failed(StatementError::Malformed { at_byte, message })
    }

    /// Ends the reader: after a failure it only answers `Ok(None)`.
    fn failed(&mut self, error: StatementError) -> StatementError {
        self.state.done = true;
        error
    }

    pub(super) fn bytes_read(&self) -> u64 {
        self.xml.buffer_position()
    }

    #[cfg(test)]
    pub(super) fn account(&self) -> Option<&str> {
        self.state.account.as_deref()
    }
}

/// What one event does to the reader: a line when an `Ntry` ends, an error when the file breaks.
fn step(state: &mut State, event: Event) -> Result<Option<Item>, String> {
    let capturing = state.capture.is_some();
    match event {
        Event::Start(start) => state.open(&start)?,
        Event::Empty(start) => {
            state.open(&start)?;
            return state.close();
        }
        Event::End(_) => return state.close(),
        Event::Text(text) if capturing => state.push_text(&text.decode().map_err(|_| not_utf8())?),
        Event::CData(text) if capturing => state.push_text(&text.decode().map_err(|_| not_utf8())?),
        Event::GeneralRef(reference) if capturing => match reference.resolve_char_ref() {
            Ok(Some(c)) => state.push_text(c.encode_utf8(&mut [0; 4])),
            _ => {
                let name = reference.decode().map_err(|_| not_utf8())?;
                let text = quick_xml::escape::resolve_predefined_entity(&name);
                state.push_text(text.ok_or_else(|| format!("&{name}; is not an XML entity"))?);
            }
        },
        Event::Eof if !state.path.is_empty() => return Err(TRUNCATED.to_owned()),
        Event::Eof => state.done = true,
        _ => {}
    }
    Ok(None)
}

const TRUNCATED: &str = "the file ends before the document does (truncated?)";

fn too_deep() -> String {
    format!("elements are nested deeper than {MAX_DEPTH}")
}

fn not_utf8() -> String {
    "a text is not UTF-8".to_owned()
}

/// The input's own failure is `Io`; anything about its content, the token cap included, is
/// `Malformed`.
fn failure<R>(xml: &Reader<R>, error: quick_xml::Error) -> StatementError {
    match error {
        quick_xml::Error::Io(error) if !bounded::is_too_long(&error) => {
            StatementError::Io(std::io::Error::new(error.kind(), error.to_string()))
        }
        other => StatementError::Malformed { at_byte: xml.error_position(), message: other.to_string() },
    }
}

struct State {
    format: Format,
    namespaces: Namespaces,
    path: Vec<Tag>,
    /// The field whose text is being collected: the innermost open element's, if it is one.
    capture: Option<Field>,
    text: String,
    text_too_long: bool,
    entry: Entry,
    ordinal: u64,
    account: Option<String>,
    done: bool,
}

impl State {
    fn open(&mut self, start: &BytesStart) -> Result<(), String> {
        if self.path.len() >= MAX_DEPTH {
            return Err(too_deep());
        }
        let camt = self.namespaces.enter(self.path.len() + 1, start);
        self.path.push(if camt { tag(self.format, start.local_name().into_inner()) } else { Tag::Other });
        if is_entry(&self.path) {
            self.ordinal += 1;
            self.entry = Entry::default();
        }
        self.capture = field_at(&self.path);
        self.text.clear();
        self.text_too_long = false;
        if self.capture == Some(Field::Amount) {
            self.entry.currency = match start.try_get_attribute("Ccy") {
                Ok(Some(code)) if code.value.len() == 3 && code.value.iter().all(u8::is_ascii_uppercase) => {
                    Some(String::from_utf8_lossy(&code.value).into_owned())
                }
                Ok(None) => None,
                _ => {
                    self.entry.fail("Amt/@Ccy is not a currency code".to_owned());
                    None
                }
            };
        }
        Ok(())
    }

    fn push_text(&mut self, piece: &str) {
        if self.text.len() + piece.len() > MAX_TEXT {
            self.text_too_long = true;
        } else {
            self.text.push_str(piece);
        }
    }

    /// Closes the innermost element: the end of an `Ntry` is a line.
    fn close(&mut self) -> Result<Option<Item>, String> {
        if let Some(field) = self.capture.take() {
            self.keep(field)?;
        }
        let ended_entry = is_entry(&self.path);
        self.namespaces.leave(self.path.len());
        self.path.pop();
        if ended_entry {
            return Ok(Some(self.entry.finish(self.ordinal)));
        }
        // The message's end: what follows the root element is no concern of a statement.
        self.done = self.path.is_empty();
        Ok(None)
    }

    fn keep(&mut self, field: Field) -> Result<(), String> {
        let too_long = || format!("a {field:?} text is longer than {MAX_TEXT} bytes");
        match field {
            Field::Account if self.text_too_long => return Err(too_long()),
            Field::Account => self.account = Some(self.text.trim().to_owned()).filter(|text| !text.is_empty()),
            _ if self.text_too_long => self.entry.fail(too_long()),
            _ => self.entry.keep(field, self.text.trim()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
