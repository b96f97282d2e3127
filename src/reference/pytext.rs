//! Python's `str` and `bytes`, where Django's API takes either: how Django turns one into bytes
//! (`force_bytes`) and into text (`str()`, which writes bytes as their `repr`, `b'…'`).

use std::borrow::Cow;

/// A `str` or a `bytes` argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PyText {
    Str(String),
    Bytes(Vec<u8>),
}

impl PyText {
    /// `force_bytes`: a `str` as UTF-8, `bytes` as they are.
    ///
    /// ```
    /// use django_conformance::reference::PyText;
    /// assert_eq!(PyText::from("é").force_bytes(), b"\xc3\xa9");
    /// assert_eq!(PyText::from(&b"\xff"[..]).force_bytes(), b"\xff");
    /// ```
    pub fn force_bytes(&self) -> &[u8] {
        match self {
            PyText::Str(text) => text.as_bytes(),
            PyText::Bytes(bytes) => bytes,
        }
    }

    /// `str(x)`: a `str` as it is, `bytes` as Python writes them, `b'…'`.
    ///
    /// ```
    /// use django_conformance::reference::PyText;
    /// assert_eq!(PyText::from(&b"v\xff"[..]).py_str(), "b'v\\xff'");
    /// ```
    pub fn py_str(&self) -> Cow<'_, str> {
        match self {
            PyText::Str(text) => Cow::Borrowed(text),
            PyText::Bytes(bytes) => Cow::Owned(bytes_repr(bytes)),
        }
    }

    /// Python's truth value: empty is false.
    pub fn is_empty(&self) -> bool {
        self.force_bytes().is_empty()
    }

    /// `len(x)`: characters of a `str`, bytes of `bytes`.
    pub fn len(&self) -> usize {
        match self {
            PyText::Str(text) => text.chars().count(),
            PyText::Bytes(bytes) => bytes.len(),
        }
    }

    /// The `str`, or the `TypeError` Python raises where it needs one: `what` is Python's
    /// message for the operation (`can't concat str to bytes`, say).
    pub fn require_str(&self, what: &str) -> Result<&str, String> {
        match self {
            PyText::Str(text) => Ok(text),
            PyText::Bytes(_) => Err(what.to_owned()),
        }
    }
}

/// The bytes `force_bytes` makes of it, so a key can be given as either.
impl AsRef<[u8]> for PyText {
    fn as_ref(&self) -> &[u8] {
        self.force_bytes()
    }
}

impl From<&str> for PyText {
    fn from(text: &str) -> PyText {
        PyText::Str(text.to_owned())
    }
}

impl From<String> for PyText {
    fn from(text: String) -> PyText {
        PyText::Str(text)
    }
}

impl From<&String> for PyText {
    fn from(text: &String) -> PyText {
        PyText::Str(text.clone())
    }
}

impl From<&PyText> for PyText {
    fn from(text: &PyText) -> PyText {
        text.clone()
    }
}

impl From<&[u8]> for PyText {
    fn from(bytes: &[u8]) -> PyText {
        PyText::Bytes(bytes.to_vec())
    }
}

impl From<Vec<u8>> for PyText {
    fn from(bytes: Vec<u8>) -> PyText {
        PyText::Bytes(bytes)
    }
}

/// `repr(bytes)`: `b'…'` (or `b"…"` when the bytes hold `'` and no `"`), with `\\`, the quote,
/// `\t`, `\n`, `\r` escaped and every other byte outside printable ASCII as `\xNN`.
///
/// ```
/// use django_conformance::reference::pytext::bytes_repr;
/// assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
/// assert_eq!(bytes_repr(b"a'\"\n\x7f"), "b'a\\'\"\\n\\x7f'");
/// ```
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(char::from(quote));
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if byte == quote => {
                out.push('\\');
                out.push(char::from(byte));
            }
            b' '..=b'~' => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_repr_is_pythons() {
        // repr() of each, from CPython 3.11.
        for (bytes, repr) in [
            (&b""[..], "b''"),
            (b"v", "b'v'"),
            (b"\xff\x00", "b'\\xff\\x00'"),
            (b"'", "b\"'\""),
            (b"'\"", "b'\\'\"'"),
            (b"\\", "b'\\\\'"),
            (b"\t\r\n", "b'\\t\\r\\n'"),
            (b"\xc3\xa9", "b'\\xc3\\xa9'"),
        ] {
            assert_eq!(bytes_repr(bytes), repr);
        }
    }

    #[test]
    fn len_and_truth_follow_python() {
        assert_eq!(PyText::from("sé").len(), 2);
        assert_eq!(PyText::from("sé".as_bytes()).len(), 3);
        assert!(PyText::from(&b""[..]).is_empty());
        assert!(!PyText::from("0").is_empty());
    }
}
