//! Field-level differences between two transcripts (a list of step records each).

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::path::FieldPath;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The step, counting from 1.
    pub step: usize,
    #[serde(serialize_with = "display")]
    pub path: FieldPath,
    /// The same keys in another order: JSON bytes (and so Django's dict order) differ.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub key_order: bool,
    /// The reference side (Django, or the snapshot for drift); `None` when absent there, which
    /// the report shows by leaving the field out (a JSON `null` is a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
}

fn display<S: serde::Serializer>(path: &FieldPath, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(path)
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| {
            v.as_ref()
                .map(Value::to_string)
                .unwrap_or_else(|| "(absent)".to_owned())
        };
        let order = if self.key_order { " (key order)" } else { "" };
        write!(
            f,
            "step {} {}{order}: {} ≠ {}",
            self.step,
            self.path,
            show(&self.expected),
            show(&self.actual)
        )
    }
}

/// Every difference between the `expected` and `actual` step records.
pub fn diff_transcripts(expected: &[Value], actual: &[Value]) -> Vec<Difference> {
    let mut out = Vec::new();
    for step in 0..expected.len().max(actual.len()) {
        let mut collect =
            |path: FieldPath, key_order: bool, e: Option<&Value>, a: Option<&Value>| {
                out.push(Difference {
                    step: step + 1,
                    path,
                    key_order,
                    expected: e.cloned(),
                    actual: a.cloned(),
                });
            };
        match (expected.get(step), actual.get(step)) {
            (Some(e), Some(a)) => diff_values(&FieldPath::default(), e, a, &mut collect),
            (e, a) => collect(FieldPath::default(), false, e, a),
        }
    }
    out
}

fn diff_values(
    path: &FieldPath,
    expected: &Value,
    actual: &Value,
    out: &mut impl FnMut(FieldPath, bool, Option<&Value>, Option<&Value>),
) {
    // Most of two transcripts is alike: skip a like subtree without building its paths.
    if identical(expected, actual) {
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, e_child) in e {
                match a.get(key) {
                    Some(a_child) => diff_values(&path.child_key(key), e_child, a_child, out),
                    None => out(path.child_key(key), false, Some(e_child), None),
                }
            }
            for (key, a_child) in a.iter().filter(|(key, _)| !e.contains_key(*key)) {
                out(path.child_key(key), false, None, Some(a_child));
            }
            let same_keys = e.len() == a.len() && e.keys().all(|k| a.contains_key(k));
            if same_keys && !e.keys().eq(a.keys()) {
                let keys = |m: &serde_json::Map<String, Value>| {
                    Value::from(m.keys().cloned().collect::<Vec<_>>())
                };
                out(path.clone(), true, Some(&keys(e)), Some(&keys(a)));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for index in 0..e.len().max(a.len()) {
                match (e.get(index), a.get(index)) {
                    (Some(e_item), Some(a_item)) => {
                        diff_values(&path.child_index(index), e_item, a_item, out)
                    }
                    (e_item, a_item) => out(path.child_index(index), false, e_item, a_item),
                }
            }
        }
        _ if expected != actual => out(path.clone(), false, Some(expected), Some(actual)),
        _ => {}
    }
}

/// Equal, keys in the same order too (`Value`'s `==` ignores the order of keys).
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| ka == kb && identical(va, vb))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| identical(a, b))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identical_transcripts_have_no_differences() {
        let t = vec![json!({"status": 200, "headers": [["a", "b"]]})];
        assert!(diff_transcripts(&t, &t.clone()).is_empty());
    }

    #[test]
    fn reports_changed_missing_and_extra_fields_with_paths() {
        let e = vec![json!({"status": 200, "set_cookies": [{"raw": "a=b"}], "body": {"x": 1}})];
        let a = vec![json!({"status": 500, "set_cookies": [], "body": {"y": 1}})];
        let found: Vec<String> = diff_transcripts(&e, &a)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "step 1 status: 200 ≠ 500",
                r#"step 1 set_cookies[0]: {"raw":"a=b"} ≠ (absent)"#,
                "step 1 body.x: 1 ≠ (absent)",
                "step 1 body.y: (absent) ≠ 1",
            ]
        );
    }

    #[test]
    fn key_order_is_a_difference() {
        let e = vec![json!({"body": {"a": 1, "b": 2}})];
        let a = vec![json!({"body": {"b": 2, "a": 1}})];
        let found = diff_transcripts(&e, &a);
        assert_eq!(found.len(), 1);
        assert!(found[0].key_order);
        assert_eq!(found[0].path.to_string(), "body");
    }

    #[test]
    fn a_missing_step_is_one_difference() {
        let e = vec![json!({"status": 200}), json!({"status": 200})];
        let found = diff_transcripts(&e, &e[..1]);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].step, found[0].actual.clone()), (2, None));
    }
}
