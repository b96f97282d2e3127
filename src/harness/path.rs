//! Field paths into an observation (`set_cookies[0].value`, `body.cookies["a b"]`) and the globs
//! that redactions and ledger entries use to select them (`set_cookies[*].value`, `body.**`).

use std::fmt;

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A concrete location inside one step's observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    pub fn child_key(&self, key: &str) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        FieldPath(segments)
    }

    /// This path as a glob that matches it at any index: `set_cookies[*].value`.
    pub fn any_index_glob(&self) -> String {
        render(&self.0, true)
    }

    pub fn child_index(&self, index: usize) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        FieldPath(segments)
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn render(segments: &[Segment], any_index: bool) -> String {
    let mut out = String::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Key(key) if is_plain_key(key) => {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Key(key) => {
                out.push_str(&format!("[{}]", serde_json::Value::from(key.as_str())))
            }
            Segment::Index(_) if any_index => out.push_str("[*]"),
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(&self.0, false))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum GlobSegment {
    Key(String),
    Index(usize),
    AnyKey,
    AnyIndex,
    AnyDepth,
}

/// A pattern over [`FieldPath`]s: `*` is any one key, `[*]` any one index, `**` any number of
/// segments (including none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldGlob {
    text: String,
    segments: Vec<GlobSegment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad field path {text:?}: {problem} (write it like `set_cookies[*].value` or `body.cookies[\"a b\"]`)"
)]
pub struct GlobError {
    text: String,
    problem: String,
}

impl FieldGlob {
    pub fn parse(text: &str) -> Result<FieldGlob, GlobError> {
        let error = |problem: &str| GlobError {
            text: text.to_owned(),
            problem: problem.to_owned(),
        };
        let mut segments = Vec::new();
        let mut rest = text;
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let (inner, tail) = split_bracket(after).ok_or_else(|| error("unclosed `[`"))?;
                segments.push(
                    parse_bracket(inner)
                        .ok_or_else(|| error("`[...]` must hold an index, `*` or a quoted key"))?,
                );
                rest = tail;
                expect_key = false;
                continue;
            }
            if !expect_key {
                rest = rest
                    .strip_prefix('.')
                    .ok_or_else(|| error("expected `.` or `[` between segments"))?;
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            segments.push(match key {
                "" => return Err(error("empty segment")),
                _ if key.contains([']', '"']) => {
                    return Err(error("unexpected `]` or `\"` outside `[...]`"));
                }
                "*" => GlobSegment::AnyKey,
                "**" => GlobSegment::AnyDepth,
                _ => GlobSegment::Key(key.to_owned()),
            });
            rest = &rest[end..];
            expect_key = false;
        }
        if segments.is_empty() {
            return Err(error("empty path"));
        }
        Ok(FieldGlob {
            text: text.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, path: &FieldPath) -> bool {
        matches_from(&self.segments, &path.0)
    }
}

fn split_bracket(after_open: &str) -> Option<(&str, &str)> {
    if after_open.starts_with('"') {
        // A quoted key may contain `]`: find the closing quote first (JSON string escapes).
        let mut escaped = false;
        for (i, c) in after_open.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let tail = after_open[i + 1..].strip_prefix(']')?;
                    return Some((&after_open[..=i], tail));
                }
                _ => escaped = false,
            }
        }
        return None;
    }
    let close = after_open.find(']')?;
    Some((&after_open[..close], &after_open[close + 1..]))
}

fn parse_bracket(inner: &str) -> Option<GlobSegment> {
    if inner == "*" {
        return Some(GlobSegment::AnyIndex);
    }
    if inner.starts_with('"') {
        return serde_json::from_str::<String>(inner)
            .ok()
            .map(GlobSegment::Key);
    }
    inner.parse().ok().map(GlobSegment::Index)
}

fn matches_from(globs: &[GlobSegment], path: &[Segment]) -> bool {
    let Some((first, rest)) = globs.split_first() else {
        return path.is_empty();
    };
    if *first == GlobSegment::AnyDepth {
        return (0..=path.len()).any(|skip| matches_from(rest, &path[skip..]));
    }
    let Some((segment, path_rest)) = path.split_first() else {
        return false;
    };
    let one = match (first, segment) {
        (GlobSegment::Key(a), Segment::Key(b)) => a == b,
        (GlobSegment::Index(a), Segment::Index(b)) => a == b,
        (GlobSegment::AnyKey, Segment::Key(_)) | (GlobSegment::AnyIndex, Segment::Index(_)) => true,
        _ => false,
    };
    one && matches_from(rest, path_rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(segments: &[Segment]) -> FieldPath {
        FieldPath(segments.to_vec())
    }

    fn key(k: &str) -> Segment {
        Segment::Key(k.to_owned())
    }

    #[test]
    fn displays_plain_and_quoted_keys() {
        let p = path(&[key("body"), key("cookies"), key("a b"), Segment::Index(2)]);
        assert_eq!(p.to_string(), r#"body.cookies["a b"][2]"#);
        assert_eq!(
            path(&[key("set_cookies"), Segment::Index(0), key("value")]).to_string(),
            "set_cookies[0].value"
        );
    }

    #[test]
    fn a_displayed_path_parses_back_and_matches_itself() {
        let p = path(&[
            key("body"),
            key("cookies"),
            key("we]ird \"k\""),
            Segment::Index(3),
        ]);
        let glob = FieldGlob::parse(&p.to_string()).unwrap();
        assert!(glob.matches(&p));
        assert!(!glob.matches(&path(&[key("body"), key("cookies")])));
    }

    #[test]
    fn any_index_glob_matches_every_index() {
        let p = path(&[key("set_cookies"), Segment::Index(3), key("value")]);
        assert_eq!(p.any_index_glob(), "set_cookies[*].value");
        let other = path(&[key("set_cookies"), Segment::Index(0), key("value")]);
        assert!(
            FieldGlob::parse(&p.any_index_glob())
                .unwrap()
                .matches(&other)
        );
    }

    #[test]
    fn wildcards_match_one_segment_of_their_kind() {
        let glob = FieldGlob::parse("set_cookies[*].value").unwrap();
        assert!(glob.matches(&path(&[
            key("set_cookies"),
            Segment::Index(4),
            key("value")
        ])));
        assert!(!glob.matches(&path(&[key("set_cookies"), key("x"), key("value")])));
        assert!(!glob.matches(&path(&[key("set_cookies"), Segment::Index(4), key("raw")])));
        let glob = FieldGlob::parse("body.*").unwrap();
        assert!(glob.matches(&path(&[key("body"), key("x")])));
        assert!(!glob.matches(&path(&[key("body"), key("x"), key("y")])));
    }

    #[test]
    fn double_star_matches_any_depth_including_none() {
        let glob = FieldGlob::parse("body.**").unwrap();
        assert!(glob.matches(&path(&[key("body")])));
        assert!(glob.matches(&path(&[key("body"), key("a"), Segment::Index(1)])));
        assert!(!glob.matches(&path(&[key("status")])));
        let glob = FieldGlob::parse("**.value").unwrap();
        assert!(glob.matches(&path(&[key("jar"), Segment::Index(0), key("value")])));
    }

    #[test]
    fn rejects_malformed_globs_with_a_hint() {
        for bad in ["", "a..b", "a[", "a[x]", "a]b", "[\"open"] {
            let err = FieldGlob::parse(bad).unwrap_err();
            assert!(err.to_string().contains("write it like"), "{bad}: {err}");
        }
    }
}
