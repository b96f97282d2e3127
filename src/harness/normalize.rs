//! Redactions: values that change from run to run become placeholders that keep their identity
//! within a scenario (`<token#1>` is the same raw value everywhere it appears), so rotation and
//! reuse are still compared. Every redaction must match something, or the scenario says so.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::Value;

use super::path::FieldPath;
use super::scenario::Redaction;

pub struct Normalizer<'a> {
    redactions: &'a [Redaction],
    /// Placeholder name → raw value → its number, in order of first appearance.
    identities: HashMap<String, IndexMap<String, usize>>,
    hits: Vec<usize>,
}

impl<'a> Normalizer<'a> {
    pub fn new(redactions: &'a [Redaction]) -> Normalizer<'a> {
        Normalizer {
            redactions,
            identities: HashMap::new(),
            hits: vec![0; redactions.len()],
        }
    }

    /// Redacts the strings of one step's record, in document order.
    pub fn apply(&mut self, record: &mut Value) {
        if !self.redactions.is_empty() {
            self.walk(record, &FieldPath::default());
        }
    }

    fn walk(&mut self, value: &mut Value, path: &FieldPath) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    self.walk(child, &path.child_key(key));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter_mut().enumerate() {
                    self.walk(child, &path.child_index(index));
                }
            }
            Value::String(text) => {
                for (index, redaction) in self.redactions.iter().enumerate() {
                    if redaction.field.matches(path) && redaction.pattern.is_match(text) {
                        self.hits[index] += 1;
                        *text = self.replace(redaction, text);
                    }
                }
            }
            _ => {}
        }
    }

    fn replace(&mut self, redaction: &Redaction, text: &str) -> String {
        let identities = self
            .identities
            .entry(redaction.placeholder.clone())
            .or_default();
        redaction
            .pattern
            .replace_all(text, |captures: &regex::Captures| {
                let next = identities.len() + 1;
                let number = *identities.entry(captures[0].to_owned()).or_insert(next);
                format!("<{}#{number}>", redaction.placeholder)
            })
            .into_owned()
    }

    /// The redactions that matched nothing in the whole scenario.
    pub fn unmatched(&self) -> Vec<&'a Redaction> {
        self.redactions
            .iter()
            .zip(&self.hits)
            .filter(|(_, hits)| **hits == 0)
            .map(|(r, _)| r)
            .collect()
    }
}

/// A redaction that would cover `value`: its character classes and length, for the message that
/// refuses to record an unstable field.
pub fn suggest_pattern(value: &str) -> String {
    let mut classes = Vec::new();
    if value.chars().any(|c| c.is_ascii_lowercase()) {
        classes.push("a-z");
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        classes.push("A-Z");
    }
    if value.chars().any(|c| c.is_ascii_digit()) {
        classes.push("0-9");
    }
    let others: String = value
        .chars()
        .filter(|c| !c.is_ascii_alphanumeric())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let escaped = regex::escape(&others);
    format!(
        "[{}{}]{{{}}}",
        classes.concat(),
        escaped,
        value.chars().count()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::path::FieldGlob;
    use crate::harness::scenario::Origin;
    use serde_json::json;

    fn redaction(field: &str, pattern: &str, placeholder: &str) -> Redaction {
        Redaction {
            field: FieldGlob::parse(field).unwrap(),
            pattern: regex::Regex::new(pattern).unwrap(),
            placeholder: placeholder.to_owned(),
            reason: "random".to_owned(),
            origin: Origin {
                file: "s.toml".into(),
                line: 1,
            },
        }
    }

    #[test]
    fn placeholders_keep_identity_across_fields_and_steps() {
        let redactions = [redaction("**", "[a-z0-9]{8}", "key")];
        let mut normalizer = Normalizer::new(&redactions);
        let mut first =
            json!({"set_cookies": [{"value": "abcd1234", "raw": "s=abcd1234; Path=/"}]});
        let mut second =
            json!({"jar": [{"value": "abcd1234"}], "set_cookies": [{"value": "zzzz9999"}]});
        normalizer.apply(&mut first);
        normalizer.apply(&mut second);
        assert_eq!(
            first,
            json!({"set_cookies": [{"value": "<key#1>", "raw": "s=<key#1>; Path=/"}]})
        );
        assert_eq!(
            second,
            json!({"jar": [{"value": "<key#1>"}], "set_cookies": [{"value": "<key#2>"}]})
        );
        assert!(normalizer.unmatched().is_empty());
    }

    #[test]
    fn only_the_selected_fields_are_touched_and_unmatched_ones_are_reported() {
        let redactions = [
            redaction("body.token", "^.*$", "token"),
            redaction("body.never", "x", "never"),
        ];
        let mut normalizer = Normalizer::new(&redactions);
        let mut record = json!({"body": {"token": "t1", "other": "t1"}});
        normalizer.apply(&mut record);
        assert_eq!(
            record,
            json!({"body": {"token": "<token#1>", "other": "t1"}})
        );
        let unmatched: Vec<_> = normalizer
            .unmatched()
            .iter()
            .map(|r| r.placeholder.clone())
            .collect();
        assert_eq!(unmatched, ["never"]);
    }

    #[test]
    fn suggested_patterns_cover_the_value() {
        for value in ["abcd1234", "AbC-_9", "x.y"] {
            let pattern = regex::Regex::new(&format!("^{}$", suggest_pattern(value))).unwrap();
            assert!(pattern.is_match(value), "{value}: {pattern}");
        }
        assert_eq!(suggest_pattern("ab12"), "[a-z0-9]{4}");
    }
}
