//! JSON bytes exactly as CPython's `json.dumps` writes them (`ensure_ascii=True`), in Django's two
//! flavours: `JsonResponse` (default separators `", "`, `": "`) and signing (compact `","`, `":"`).
//! Also [`loads`], CPython's `json.loads` as far as a [`Value`] can hold its result.
//!
//! Known limits of [`Value`] against Python objects (CPython 3.11):
//! * `NaN`/`Infinity`, integers outside `i64`/`u64`, float literals that overflow to infinity
//!   and strings with lone surrogates are valid to `json.loads` but have no [`Value`]: [`loads`]
//!   reports them as [`LoadsError::Unrepresentable`].
//! * Nesting deeper than [`MAX_DEPTH`] is refused ([`LoadsError::Unrepresentable`]); Python's own
//!   limit is its recursion limit, which depends on the caller's stack.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// `json.dumps(value)`: what `JsonResponse` sends.
///
/// ```
/// use django_conformance::reference::pyjson::dumps;
/// let value = serde_json::json!({"a": [1, 2.0, "é"], "b": null});
/// assert_eq!(dumps(&value), r#"{"a": [1, 2.0, "\u00e9"], "b": null}"#);
/// ```
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, &Separators::DEFAULT);
    out
}

/// `json.dumps(value, separators=(",", ":"))`: what `django.core.signing` signs.
pub fn dumps_compact(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, &Separators::COMPACT);
    out
}

struct Separators {
    item: &'static str,
    key: &'static str,
}

impl Separators {
    const DEFAULT: Separators = Separators {
        item: ", ",
        key: ": ",
    };
    const COMPACT: Separators = Separators {
        item: ",",
        key: ":",
    };
}

fn write_value(out: &mut String, value: &Value, seps: &Separators) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(seps.item);
                }
                write_value(out, item, seps);
            }
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            for (index, (key, item)) in object.iter().enumerate() {
                if index > 0 {
                    out.push_str(seps.item);
                }
                write_string(out, key);
                out.push_str(seps.key);
                write_value(out, item, seps);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, number: &Number) {
    if let Some(int) = number.as_i64() {
        write!(out, "{int}").expect("writing to a String cannot fail");
    } else if let Some(int) = number.as_u64() {
        write!(out, "{int}").expect("writing to a String cannot fail");
    } else {
        // Without serde_json's arbitrary_precision a Number is an integer or a finite f64.
        out.push_str(&float_repr(number.as_f64().unwrap_or(f64::NAN)));
    }
}

/// A JSON string literal with `ensure_ascii=True`: printable ASCII as is, the seven short
/// escapes, everything else `\uXXXX` in lower-case hex (UTF-16 surrogate pairs above the BMP).
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}").expect("writing to a String cannot fail");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)` (what `json.dumps` writes for a finite float): the shortest digits
/// that round-trip, positional when the decimal exponent is in `-4 < exp <= 16`, otherwise
/// `d.ddde±XX` with at least two exponent digits.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Python's repr, e.g. "-1.25e-7".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Python's `decpt`: the value is 0.DIGITS × 10^decpt.
    let decpt = exponent + 1;
    let body = if decpt > 16 || decpt <= -4 {
        exponential(&digits, exponent)
    } else {
        positional(&digits, decpt)
    };
    format!("{sign}{body}")
}

fn exponential(digits: &str, exponent: i32) -> String {
    let (first, rest) = digits.split_at(1);
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    let fraction = if rest.is_empty() {
        String::new()
    } else {
        format!(".{rest}")
    };
    format!("{first}{fraction}e{exp_sign}{:02}", exponent.unsigned_abs())
}

fn positional(digits: &str, decpt: i32) -> String {
    let count = digits.len() as i32;
    if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else if decpt >= count {
        format!("{digits}{}.0", "0".repeat((decpt - count) as usize))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{int}.{frac}")
    }
}

/// The deepest nesting [`loads`] accepts.
pub const MAX_DEPTH: usize = 512;

/// Why [`loads`] gave no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadsError {
    /// `json.JSONDecodeError` (a `ValueError`): not JSON to Python either.
    #[error("JSONDecodeError: {message}: char {position}")]
    Invalid {
        message: &'static str,
        position: usize,
    },
    /// Valid to Python, but the result has no [`Value`] (see the module documentation).
    #[error("not representable as a JSON value: {0}")]
    Unrepresentable(&'static str),
}

/// `json.loads(text)` (CPython's C scanner, `strict=True`).
///
/// ```
/// use django_conformance::reference::pyjson::loads;
/// assert_eq!(loads(r#"{"a": 1, "a": 2}"#).unwrap(), serde_json::json!({"a": 2}));
/// assert!(loads("[NaN]").is_err(), "Python reads NaN, but a JSON value cannot hold it");
/// ```
pub fn loads(text: &str) -> Result<Value, LoadsError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parser = Parser { chars, pos: 0 };
    if parser.peek() == Some('\u{feff}') {
        return Err(parser.invalid("Unexpected UTF-8 BOM (decode using utf-8-sig)"));
    }
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos != parser.chars.len() {
        return Err(parser.invalid("Extra data"));
    }
    Ok(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn invalid(&self, message: &'static str) -> LoadsError {
        LoadsError::Invalid {
            message,
            position: self.pos,
        }
    }

    /// Python's `WHITESPACE` is exactly these four characters.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    fn eat_literal(&mut self, literal: &str) -> bool {
        let end = self.pos + literal.chars().count();
        let matches = end <= self.chars.len()
            && self.chars[self.pos..end]
                .iter()
                .copied()
                .eq(literal.chars());
        if matches {
            self.pos = end;
        }
        matches
    }

    fn value(&mut self, depth: usize) -> Result<Value, LoadsError> {
        if depth >= MAX_DEPTH {
            return Err(LoadsError::Unrepresentable("nesting too deep"));
        }
        match self.peek() {
            Some('"') => {
                self.pos += 1;
                self.string().map(Value::String)
            }
            Some('{') => self.object(depth),
            Some('[') => self.array(depth),
            _ if self.eat_literal("null") => Ok(Value::Null),
            _ if self.eat_literal("true") => Ok(Value::Bool(true)),
            _ if self.eat_literal("false") => Ok(Value::Bool(false)),
            _ if self.eat_literal("NaN")
                || self.eat_literal("Infinity")
                || self.eat_literal("-Infinity") =>
            {
                Err(LoadsError::Unrepresentable("NaN and Infinity"))
            }
            _ => self.number(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, LoadsError> {
        self.pos += 1; // '{'
        let mut object = Map::new();
        self.skip_whitespace();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(Value::Object(object));
        }
        loop {
            if self.peek() != Some('"') {
                return Err(self.invalid("Expecting property name enclosed in double quotes"));
            }
            self.pos += 1;
            let key = self.string()?;
            self.skip_whitespace();
            if self.peek() != Some(':') {
                return Err(self.invalid("Expecting ':' delimiter"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let item = self.value(depth + 1)?;
            // A repeated key keeps its first position and takes the last value, like a dict.
            object.insert(key, item);
            self.skip_whitespace();
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Ok(Value::Object(object));
                }
                Some(',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                _ => return Err(self.invalid("Expecting ',' delimiter")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, LoadsError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                Some(',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                _ => return Err(self.invalid("Expecting ',' delimiter")),
            }
        }
    }

    /// The body of a string literal, after its opening quote.
    fn string(&mut self) -> Result<String, LoadsError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.invalid("Unterminated string starting at"));
            };
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.escape()?),
                c if (c as u32) < 0x20 => return Err(self.invalid("Invalid control character at")),
                c => out.push(c),
            }
        }
    }

    /// One escape sequence, after its backslash.
    fn escape(&mut self) -> Result<char, LoadsError> {
        let Some(c) = self.peek() else {
            return Err(self.invalid("Unterminated string starting at"));
        };
        self.pos += 1;
        let simple = match c {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => return self.unicode_escape(),
            _ => return Err(self.invalid("Invalid \\escape")),
        };
        Ok(simple)
    }

    /// `\uXXXX`, joined with a following `\uXXXX` low surrogate as Python does.
    fn unicode_escape(&mut self) -> Result<char, LoadsError> {
        let unit = self.hex4()?;
        if (0xD800..0xDC00).contains(&unit) && self.eat_literal("\\u") {
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let joined = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(joined).expect("a joined surrogate pair is a scalar"));
            }
            return Err(LoadsError::Unrepresentable("lone surrogate"));
        }
        char::from_u32(unit).ok_or(LoadsError::Unrepresentable("lone surrogate"))
    }

    fn hex4(&mut self) -> Result<u32, LoadsError> {
        let end = self.pos + 4;
        let digits = self
            .chars
            .get(self.pos..end)
            .filter(|digits| digits.iter().all(char::is_ascii_hexdigit))
            .ok_or_else(|| self.invalid("Invalid \\uXXXX escape"))?;
        let unit = digits.iter().fold(0, |acc, d| {
            acc * 16 + d.to_digit(16).expect("checked hex digit")
        });
        self.pos = end;
        Ok(unit)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, matched greedily as the C scanner does
    /// (`1.` is the integer 1 followed by extra data).
    fn number(&mut self) -> Result<Value, LoadsError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        match self.peek() {
            Some('0') => self.pos += 1,
            Some('1'..='9') => self.skip_digits(),
            _ => {
                self.pos = start;
                return Err(self.invalid("Expecting value"));
            }
        }
        let mut is_float = false;
        if self.peek() == Some('.')
            && self
                .chars
                .get(self.pos + 1)
                .is_some_and(char::is_ascii_digit)
        {
            self.pos += 1;
            self.skip_digits();
            is_float = true;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let exponent_start = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('-' | '+')) {
                self.pos += 1;
            }
            let digits_start = self.pos;
            self.skip_digits();
            if self.pos == digits_start {
                self.pos = exponent_start;
            } else {
                is_float = true;
            }
        }
        let literal: String = self.chars[start..self.pos].iter().collect();
        if is_float {
            float_value(&literal)
        } else {
            int_value(&literal)
        }
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

fn float_value(literal: &str) -> Result<Value, LoadsError> {
    let value: f64 = literal
        .parse()
        .expect("the scanner matched a float literal");
    Number::from_f64(value)
        .map(Value::Number)
        .ok_or(LoadsError::Unrepresentable(
            "float literal overflows to infinity",
        ))
}

fn int_value(literal: &str) -> Result<Value, LoadsError> {
    // Python's int("-0") is 0, so "-0" must not become the float -0.0.
    if let Ok(int) = literal.parse::<i64>() {
        return Ok(Value::from(int));
    }
    literal
        .parse::<u64>()
        .map(Value::from)
        .map_err(|_| LoadsError::Unrepresentable("integer outside i64/u64"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn default_and_compact_separators() {
        // json.dumps({"a": [1, 2], "b": {}}) and the same with separators=(",", ":")
        let value = json!({"a": [1, 2], "b": {}, "c": []});
        assert_eq!(dumps(&value), r#"{"a": [1, 2], "b": {}, "c": []}"#);
        assert_eq!(dumps_compact(&value), r#"{"a":[1,2],"b":{},"c":[]}"#);
    }

    #[test]
    fn keys_keep_insertion_order() {
        let value: Value = serde_json::from_str(r#"{"z": 1, "a": 2, "m": 3}"#).unwrap();
        assert_eq!(dumps(&value), r#"{"z": 1, "a": 2, "m": 3}"#);
    }

    #[test]
    fn scalars() {
        assert_eq!(dumps(&json!(null)), "null");
        assert_eq!(dumps(&json!(true)), "true");
        assert_eq!(dumps(&json!(false)), "false");
        assert_eq!(dumps(&json!(-42)), "-42");
        assert_eq!(dumps(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(dumps(&json!(i64::MIN)), "-9223372036854775808");
    }

    #[test]
    fn ensure_ascii_escapes_like_cpython() {
        // python3.11 -c 'import json; print(json.dumps("\"\\/\n\r\t\b\f\x00\x1f\x7f é€😀 ~"))'
        let text = "\"\\/\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f} é€😀 ~";
        assert_eq!(
            dumps(&json!(text)),
            r#""\"\\/\n\r\t\b\f\u0000\u001f\u007f \u00e9\u20ac\ud83d\ude00 ~""#
        );
        assert_eq!(dumps(&json!({"é": "\u{ffff}"})), r#"{"\u00e9": "\uffff"}"#);
    }

    #[test]
    fn float_repr_edge_cases_match_python() {
        // python3.11: [repr(x) for x in (1.0, 1e16, 1e15, 1e-07, 0.1, -0.0, 0.0001, 1e-05,
        //   123456789012345678.0, 1.5e300, 5e-324, 1.7976931348623157e308, 0.30000000000000004,
        //   -2.5, 100.0, 1234.5678)]
        let cases = [
            (1.0, "1.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-7, "1e-07"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (1234.5678, "1234.5678"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(value), expected, "{value:e}");
        }
    }

    /// 2,000 random doubles (random bit patterns and random-magnitude values), each with
    /// `repr(x)` from CPython 3.11.7. Generated by `testdata/gen_float_repr.py`.
    #[test]
    fn float_repr_matches_cpython_on_random_doubles() {
        let data = include_str!("testdata/float_repr.txt");
        let mut checked = 0;
        for line in data.lines() {
            let (bits, expected) = line.split_once(' ').unwrap();
            let value = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
            assert_eq!(float_repr(value), expected, "bits {bits}");
            checked += 1;
        }
        assert!(checked >= 2000, "only {checked} vectors");
    }

    #[test]
    fn floats_inside_documents() {
        let value = json!({"f": 1e16, "g": [0.5, -0.0, 1e-7]});
        assert_eq!(dumps(&value), r#"{"f": 1e+16, "g": [0.5, -0.0, 1e-07]}"#);
    }

    #[test]
    fn loads_reads_what_python_reads() {
        // Each literal and what json.loads gives, re-dumped by json.dumps in CPython 3.11.
        let cases = [
            (
                " {\"a\" : [1 , 2.5e3,\"x\"] }\n",
                r#"{"a": [1, 2500.0, "x"]}"#,
            ),
            ("-0", "0"),
            ("-0.0", "-0.0"),
            ("1E2", "100.0"),
            ("1e-2", "0.01"),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
            (r#""\u00e9\ud83d\ude00\/\b""#, r#""\u00e9\ud83d\ude00/\b""#),
            (r#"{"a": 1, "b": 2, "a": 3}"#, r#"{"a": 3, "b": 2}"#),
            ("\"\u{e9}\u{ff}\"", r#""\u00e9\u00ff""#),
            ("[]", "[]"),
            ("{}", "{}"),
        ];
        for (text, redumped) in cases {
            assert_eq!(dumps(&loads(text).unwrap()), redumped, "{text:?}");
        }
    }

    #[test]
    fn loads_rejects_what_python_rejects() {
        // Each raises json.JSONDecodeError in CPython 3.11.
        for text in [
            "",
            " ",
            "1.",
            "1e",
            "01",
            "-",
            "+1",
            ".5",
            "[1,]",
            "{\"a\":1,}",
            "{'a':1}",
            "[1 2]",
            "\"unterminated",
            "\"tab\there\"",
            r#""\x""#,
            r#""\u12g4""#,
            "nul",
            "[",
            "1 2",
            "\u{feff}1",
            "{\"a\" 1}",
            "{1:2}",
        ] {
            assert!(
                matches!(loads(text), Err(LoadsError::Invalid { .. })),
                "{text:?} gave {:?}",
                loads(text)
            );
        }
    }

    #[test]
    fn loads_reports_values_python_has_but_value_cannot_hold() {
        for text in [
            "NaN",
            "Infinity",
            "-Infinity",
            "[1e400]",
            "18446744073709551616",
            "-9223372036854775809",
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
        ] {
            assert!(
                matches!(loads(text), Err(LoadsError::Unrepresentable(_))),
                "{text:?} gave {:?}",
                loads(text)
            );
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(loads(&deep), Err(LoadsError::Unrepresentable(_))));
        let shallow = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(loads(&shallow).is_ok());
    }

    /// Arbitrary JSON documents, floats and non-ASCII strings included.
    pub(crate) fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn loads_inverts_dumps(value in json_value()) {
            let text = dumps(&value);
            prop_assert!(text.is_ascii());
            prop_assert_eq!(loads(&text).unwrap(), value.clone());
            prop_assert_eq!(loads(&dumps_compact(&value)).unwrap(), value);
        }

        #[test]
        fn float_repr_round_trips(bits in any::<u64>()) {
            let value = f64::from_bits(bits);
            prop_assume!(value.is_finite());
            let text = float_repr(value);
            prop_assert_eq!(text.parse::<f64>().unwrap().to_bits(), bits);
            // Python always marks a float: a '.', an exponent, or both.
            prop_assert!(text.contains('.') || text.contains('e'));
        }
    }
}
