//! Scenario files: one TOML file per scenario under `<scenarios dir>/<topic>/`, whose path gives
//! its id (`scenarios/cookies/max_age.toml` is `cookies/max_age`). Files whose name starts with `_`
//! are fragments: steps that scenarios include.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use indexmap::IndexMap;
use regex::Regex;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toml::Spanned;

use super::files::{self, MAX_TOML_BYTES};
use super::jar::LAST_HTTP_DATE;
use super::path::FieldGlob;
use super::targets::TargetKind;
use crate::reference::pyjson::float_repr;

/// Files directly in a scenarios folder that are not scenarios.
pub const PROFILES_FILE: &str = "profiles.toml";
pub const LEDGER_FILE: &str = "known-divergences.toml";

/// Where the virtual clock starts unless a scenario says otherwise: Tue, 14 Nov 2023 22:13:20 GMT.
pub const DEFAULT_CLOCK_START: f64 = 1_700_000_000.0;

/// At most this many steps in one scenario, its includes expanded.
pub const MAX_STEPS: usize = 10_000;
/// At most this many includes expanded for one scenario.
pub const MAX_INCLUDES: usize = 1_000;

/// A scenario file as written. It also serialises, so generated scenarios can be written out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A settings profile from `profiles.toml`; `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Where the virtual clock starts, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<Spanned<f64>>,
    /// Salts tried when decoding signed cookie values (default: the empty salt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_salts: Option<Vec<String>>,
    #[serde(default, rename = "redact", skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Spanned<RedactionFile>>,
    #[serde(rename = "step")]
    pub steps: Vec<Spanned<StepFile>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FragmentFile {
    #[serde(rename = "step")]
    steps: Vec<Spanned<StepFile>>,
}

/// A placeholder for a value that changes from run to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionFile {
    /// Field glob inside each step's observation, e.g. `set_cookies[*].value`.
    pub field: String,
    /// Regex; each match inside a selected string becomes `<placeholder#n>`.
    pub pattern: String,
    pub placeholder: String,
    /// Why the value is random. Required: a redaction without a reason hides too much.
    pub reason: String,
}

/// One request, or `include = "_fragment.toml"` alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Pairs::is_empty")]
    pub query: Pairs,
    #[serde(default, skip_serializing_if = "Pairs::is_empty")]
    pub headers: Pairs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Pairs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<Vec<MultipartPart>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The whole request as exact bytes, one character (U+0000 to U+00FF) per byte, sent over
    /// a plain socket: for what an HTTP client cannot send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Send this step to one target always (handoff scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetKind>,
    /// Seconds the virtual clock moves forward before this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe: Option<Vec<ObserveKind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe_headers: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipartPart {
    pub name: String,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// What a step records. All of them unless the step lists some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObserveKind {
    Status,
    Headers,
    SetCookies,
    Jar,
    Body,
    Signed,
}

impl ObserveKind {
    pub const ALL: [ObserveKind; 6] = [
        ObserveKind::Status,
        ObserveKind::Headers,
        ObserveKind::SetCookies,
        ObserveKind::Jar,
        ObserveKind::Body,
        ObserveKind::Signed,
    ];
}

/// Name/value pairs written as a table (`{ a = "1" }`) or, to repeat a name or keep an order that
/// matters, as a list (`[["Cookie", "a=1"], ["Cookie", "b=2"]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of strings or a list of [name, value] string pairs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    pairs.push((name, value));
                }
                Ok(Pairs(pairs))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = seq.next_element::<(String, String)>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_any(PairsVisitor)
    }
}

/// A loaded, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: String,
    pub topic: String,
    pub file: PathBuf,
    pub description: String,
    pub tags: Vec<String>,
    pub profile: String,
    pub clock_start: f64,
    pub signing_salts: Vec<String>,
    pub redactions: Vec<Redaction>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

#[derive(Debug, Clone)]
pub struct Redaction {
    pub field: FieldGlob,
    pub pattern: Regex,
    pub placeholder: String,
    pub reason: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
    Text(String),
    Multipart(Vec<MultipartPart>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub client: String,
    pub method: reqwest::Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub content_type: Option<String>,
    pub target: Option<TargetKind>,
    pub advance: f64,
    pub observe: Vec<ObserveKind>,
    /// Lower-case header names to record; `None` records all but transport noise.
    pub observe_headers: Option<Vec<String>>,
    /// The whole request as bytes, when the step gives it raw; `method` and `path` are then
    /// read from its request line, for messages and the cookie jar.
    pub raw: Option<Vec<u8>>,
    pub origin: Origin,
}

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl ScenarioError {
    fn at(origin: &Origin, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: origin.file.clone(),
            line: Some(origin.line),
            message: message.into(),
        }
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// A TOML file of the scenarios folder: a regular file of at most [`MAX_TOML_BYTES`].
pub(crate) fn read(file: &Path) -> Result<String, ScenarioError> {
    files::read_text(file, MAX_TOML_BYTES).map_err(|e| ScenarioError {
        file: file.to_owned(),
        line: None,
        message: format!("cannot read the file: {e}"),
    })
}

/// Parses a TOML file; an error names its line.
pub(crate) fn parse_toml<T: for<'de> Deserialize<'de>>(
    file: &Path,
    source: &str,
) -> Result<T, ScenarioError> {
    toml::from_str(source).map_err(|e| ScenarioError {
        file: file.to_owned(),
        line: e.span().map(|span| line_of(source, span.start)),
        message: e.message().trim_end().to_owned(),
    })
}

/// A pattern over scenario ids: `*` matches within one segment (`cookies/max_age*`,
/// `*/set_cookie_plain`), `?` one character; anything else is literal.
#[derive(Debug, Clone)]
pub struct IdGlob {
    pattern: String,
    regex: Regex,
}

impl IdGlob {
    pub fn new(pattern: &str) -> IdGlob {
        let body = regex::escape(pattern)
            .replace(r"\*", "[^/]*")
            .replace(r"\?", "[^/]");
        IdGlob {
            pattern: pattern.to_owned(),
            regex: Regex::new(&format!("^{body}$")).expect("an escaped pattern is a regex"),
        }
    }

    pub fn matches(&self, id: &str) -> bool {
        self.regex.is_match(id)
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

/// The id of a scenario file below `root`: its relative path without `.toml`, `/`-separated.
pub fn scenario_id(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root).ok()?.with_extension("");
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (parts.len() >= 2).then(|| parts.join("/"))
}

/// Parses and validates one scenario file below `root`.
pub fn load(root: &Path, file: &Path) -> Result<Scenario, ScenarioError> {
    let id = scenario_id(root, file).ok_or_else(|| ScenarioError {
        file: file.to_owned(),
        line: None,
        message: format!(
            "a scenario lives in a topic folder: {}/<topic>/<name>.toml",
            root.display()
        ),
    })?;
    let source = read(file)?;
    let parsed: ScenarioFile = parse_toml(file, &source)?;
    let topic = id.split('/').next().unwrap_or_default().to_owned();
    let redactions = parsed
        .redactions
        .iter()
        .map(|spanned| {
            let origin = Origin {
                file: file.to_owned(),
                line: line_of(&source, spanned.span().start),
            };
            validate_redaction(spanned.get_ref(), origin)
        })
        .collect::<Result<_, _>>()?;
    let mut expansion = Expansion::new(root, file);
    expansion.expand(file, &source, &parsed.steps)?;
    let steps = expansion.steps;
    if steps.is_empty() {
        return Err(ScenarioError {
            file: file.to_owned(),
            line: None,
            message: "a scenario needs at least one [[step]]".into(),
        });
    }
    let clock_start = match &parsed.clock {
        Some(clock) => {
            let origin = Origin {
                file: file.to_owned(),
                line: line_of(&source, clock.span().start),
            };
            check_clock(*clock.get_ref(), &origin, "`clock`")?;
            *clock.get_ref()
        }
        None => DEFAULT_CLOCK_START,
    };
    let mut clock = clock_start;
    for step in &steps {
        clock += step.advance;
        check_clock(clock, &step.origin, "`advance`")?;
    }
    Ok(Scenario {
        id,
        topic,
        file: file.to_owned(),
        description: parsed.description.unwrap_or_default(),
        tags: parsed.tags,
        profile: parsed.profile.unwrap_or_else(|| "default".to_owned()),
        clock_start,
        signing_salts: parsed.signing_salts.unwrap_or_else(|| vec![String::new()]),
        redactions,
        steps,
    })
}

fn validate_redaction(spec: &RedactionFile, origin: Origin) -> Result<Redaction, ScenarioError> {
    let field =
        FieldGlob::parse(&spec.field).map_err(|e| ScenarioError::at(&origin, e.to_string()))?;
    let pattern = Regex::new(&spec.pattern).map_err(|e| {
        ScenarioError::at(
            &origin,
            format!("redaction pattern is not a valid regex: {e}"),
        )
    })?;
    if spec.reason.trim().is_empty() {
        return Err(ScenarioError::at(
            &origin,
            "a redaction needs a reason: say why the value is random",
        ));
    }
    if spec.placeholder.is_empty()
        || !spec
            .placeholder
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ScenarioError::at(
            &origin,
            "a redaction placeholder is a name of letters, digits and `_`",
        ));
    }
    Ok(Redaction {
        field,
        pattern,
        placeholder: spec.placeholder.clone(),
        reason: spec.reason.clone(),
        origin,
    })
}

/// The virtual clock stays where Python's `datetime` can follow it: from the epoch to the end of
/// year 9999.
fn check_clock(clock: f64, origin: &Origin, what: &str) -> Result<(), ScenarioError> {
    if (0.0..=LAST_HTTP_DATE).contains(&clock) {
        return Ok(());
    }
    Err(ScenarioError::at(
        origin,
        format!(
            "{what} puts the virtual clock at {} s; it must stay between 0 and \
             {LAST_HTTP_DATE} (the end of year 9999, the last instant Python's datetime holds)",
            float_repr(clock)
        ),
    ))
}

/// One scenario's steps with its includes expanded, within the folder and the limits.
struct Expansion {
    /// The scenarios folder, resolved: includes stay inside it.
    root: PathBuf,
    /// The files being expanded, resolved, outermost first: an include of one is a cycle.
    chain: Vec<PathBuf>,
    /// Fragments already read, by resolved path: a fragment included many times is read once.
    fragments: HashMap<PathBuf, Rc<(String, FragmentFile)>>,
    includes: usize,
    steps: Vec<Step>,
}

impl Expansion {
    fn new(root: &Path, scenario: &Path) -> Expansion {
        let resolve = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_owned());
        Expansion {
            root: resolve(root),
            chain: vec![resolve(scenario)],
            fragments: HashMap::new(),
            includes: 0,
            steps: Vec::new(),
        }
    }

    fn expand(
        &mut self,
        file: &Path,
        source: &str,
        entries: &[Spanned<StepFile>],
    ) -> Result<(), ScenarioError> {
        for entry in entries {
            let origin = Origin {
                file: file.to_owned(),
                line: line_of(source, entry.span().start),
            };
            let spec = entry.get_ref();
            let Some(include) = &spec.include else {
                if self.steps.len() == MAX_STEPS {
                    return Err(ScenarioError::at(
                        &origin,
                        format!(
                            "the scenario has more than {MAX_STEPS} steps with its includes \
                             expanded (the limit)"
                        ),
                    ));
                }
                let step = validate_step(spec, origin, self.steps.len() + 1)?;
                self.steps.push(step);
                continue;
            };
            let alone = StepFile {
                include: Some(include.clone()),
                ..StepFile::default()
            };
            if serde_json::to_value(spec).ok() != serde_json::to_value(&alone).ok() {
                return Err(ScenarioError::at(
                    &origin,
                    "a step with `include` has no other field",
                ));
            }
            let target = file.parent().unwrap_or(Path::new(".")).join(include);
            let (resolved, fragment) = self.fragment(&target, include, &origin)?;
            self.chain.push(resolved);
            self.expand(&target, &fragment.0, &fragment.1.steps)?;
            self.chain.pop();
        }
        Ok(())
    }

    /// The fragment an `include` names, checked: inside the scenarios folder, no cycle, within
    /// the include limit, a regular file of bounded size.
    fn fragment(
        &mut self,
        target: &Path,
        include: &str,
        origin: &Origin,
    ) -> Result<(PathBuf, Rc<(String, FragmentFile)>), ScenarioError> {
        let refuse =
            |why: String| ScenarioError::at(origin, format!("cannot include {include:?}: {why}"));
        let resolved = target.canonicalize().map_err(|e| refuse(e.to_string()))?;
        if !resolved.starts_with(&self.root) {
            return Err(refuse(format!(
                "it is outside the scenarios folder {}, and includes stay inside it",
                self.root.display()
            )));
        }
        if let Some(first) = self.chain.iter().position(|file| *file == resolved) {
            let cycle: Vec<String> = self.chain[first..]
                .iter()
                .chain([&resolved])
                .map(|file| {
                    file.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            return Err(refuse(format!(
                "the includes form a cycle: {}",
                cycle.join(" → ")
            )));
        }
        self.includes += 1;
        if self.includes > MAX_INCLUDES {
            return Err(refuse(format!(
                "the scenario expands more than {MAX_INCLUDES} includes (the limit)"
            )));
        }
        if let Some(fragment) = self.fragments.get(&resolved) {
            return Ok((resolved, fragment.clone()));
        }
        let source = files::read_text(target, MAX_TOML_BYTES).map_err(|e| refuse(e.to_string()))?;
        let parsed: FragmentFile = parse_toml(target, &source)?;
        let fragment = Rc::new((source, parsed));
        self.fragments.insert(resolved.clone(), fragment.clone());
        Ok((resolved, fragment))
    }
}

/// What every step has, whatever its request: a name, a client, the clock, what it records.
fn validate_common(spec: &StepFile, origin: &Origin, number: usize) -> Result<Step, ScenarioError> {
    let advance = spec.advance.unwrap_or(0.0);
    if !(advance.is_finite() && advance >= 0.0) {
        return Err(ScenarioError::at(
            origin,
            format!("`advance = {advance}` must be a number of seconds, 0 or more"),
        ));
    }
    Ok(Step {
        name: spec
            .name
            .clone()
            .unwrap_or_else(|| format!("step {number}")),
        client: spec.client.clone().unwrap_or_else(|| "default".to_owned()),
        method: reqwest::Method::GET,
        path: "/".to_owned(),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        content_type: None,
        target: spec.target,
        advance,
        observe: spec
            .observe
            .clone()
            .unwrap_or_else(|| ObserveKind::ALL.to_vec()),
        observe_headers: spec
            .observe_headers
            .as_ref()
            .map(|names| names.iter().map(|n| n.to_ascii_lowercase()).collect()),
        raw: None,
        origin: origin.clone(),
    })
}

/// A `raw` step: the request's bytes, and the method and path its request line names (or GET
/// and `/` when it names none).
fn validate_raw(spec: &StepFile, raw: &str, common: Step) -> Result<Step, ScenarioError> {
    let fail = |message: String| ScenarioError::at(&common.origin, message);
    let given: Vec<&str> = [
        ("method", spec.method.is_some()),
        ("path", spec.path.is_some()),
        ("query", !spec.query.is_empty()),
        ("headers", !spec.headers.is_empty()),
        ("json", spec.json.is_some()),
        ("form", spec.form.is_some()),
        ("text", spec.text.is_some()),
        ("multipart", spec.multipart.is_some()),
        ("content_type", spec.content_type.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    if !given.is_empty() {
        return Err(fail(format!(
            "a step with `raw` gives the whole request: leave out {}",
            given.join(", ")
        )));
    }
    let bytes = latin1_bytes(raw).ok_or_else(|| {
        fail("`raw` holds one byte per character: U+0000 to U+00FF (\\u00ff is 0xFF)".into())
    })?;
    let mut words = raw.lines().next().unwrap_or_default().split(' ');
    let method = words
        .next()
        .and_then(|m| reqwest::Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(reqwest::Method::GET);
    let path = words
        .next()
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/")
        .to_owned();
    Ok(Step {
        method,
        path,
        raw: Some(bytes),
        ..common
    })
}

/// The bytes of a string whose characters are each one byte (latin-1), if they all are.
pub fn latin1_bytes(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(c).ok()).collect()
}

fn validate_step(spec: &StepFile, origin: Origin, number: usize) -> Result<Step, ScenarioError> {
    let common = validate_common(spec, &origin, number)?;
    if let Some(raw) = &spec.raw {
        return validate_raw(spec, raw, common);
    }
    let fail = |message: String| ScenarioError::at(&origin, message);
    let path = spec
        .path
        .clone()
        .ok_or_else(|| fail("a step needs a `path` (or a `raw` request)".into()))?;
    if !path.starts_with('/') {
        return Err(fail(format!("`path = {path:?}` must start with `/`")));
    }
    let method_text = spec.method.as_deref().unwrap_or("GET");
    let method = reqwest::Method::from_bytes(method_text.as_bytes())
        .map_err(|_| fail(format!("`method = {method_text:?}` is not an HTTP method")))?;
    for (name, value) in &spec.headers.0 {
        reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            fail(format!(
                "header name {name:?} is not a valid HTTP header name"
            ))
        })?;
        reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            fail(format!(
                "header {name:?} has a value that cannot be sent (control characters?): \
                 give the step as `raw` bytes instead"
            ))
        })?;
    }
    let bodies: Vec<Body> = [
        spec.json.clone().map(Body::Json),
        spec.form.clone().map(|form| Body::Form(form.0)),
        spec.text.clone().map(Body::Text),
        spec.multipart.clone().map(Body::Multipart),
    ]
    .into_iter()
    .flatten()
    .collect();
    if bodies.len() > 1 {
        return Err(fail(
            "a step has one body: `json`, `form`, `text` or `multipart`".into(),
        ));
    }
    Ok(Step {
        method,
        path,
        query: spec.query.0.clone(),
        headers: spec.headers.0.clone(),
        body: bodies.into_iter().next(),
        content_type: spec.content_type.clone(),
        ..common
    })
}

/// Every scenario file below the given folders, sorted, with the folder each was found in.
/// Folders that are not topic folders are reported rather than skipped.
pub fn discover(roots: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, ScenarioError> {
    let mut found = Vec::new();
    for root in roots {
        let entries = std::fs::read_dir(root).map_err(|e| ScenarioError {
            file: root.clone(),
            line: None,
            message: format!("cannot read the scenarios folder: {e} (pass --scenarios DIR)"),
        })?;
        let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        names.sort();
        for path in names {
            if path.is_dir() {
                collect_toml(root, &path, &mut found)?;
            } else if path.extension().is_some_and(|e| e == "toml") {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if name != PROFILES_FILE && name != LEDGER_FILE {
                    return Err(ScenarioError {
                        file: path.clone(),
                        line: None,
                        message: format!(
                            "scenario files live in topic folders ({}/<topic>/); move this one into one",
                            root.display()
                        ),
                    });
                }
            }
        }
    }
    Ok(found)
}

fn collect_toml(
    root: &Path,
    dir: &Path,
    found: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ScenarioError {
        file: dir.to_owned(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let fragment = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('_'));
        let linked = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if path.is_dir() && linked {
            // A link to a folder above would make the walk endless.
            return Err(ScenarioError {
                file: path,
                line: None,
                message: "a linked folder inside a topic folder is not followed: \
                          move its scenarios here, or link the topic folder itself"
                    .into(),
            });
        }
        if path.is_dir() {
            collect_toml(root, &path, found)?;
        } else if path.extension().is_some_and(|e| e == "toml") && !fragment {
            found.push((root.to_owned(), path));
        }
    }
    Ok(())
}

/// Loads every scenario below `roots` whose topic is selected (all when `topics` is empty).
/// Every malformed file is reported, not just the first.
pub fn load_all(roots: &[PathBuf], topics: &[String]) -> Result<Vec<Scenario>, Vec<ScenarioError>> {
    let files = discover(roots).map_err(|e| vec![e])?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    let mut ids: IndexMap<String, PathBuf> = IndexMap::new();
    for (root, file) in files {
        match load(&root, &file) {
            Ok(scenario) if !topics.is_empty() && !topics.contains(&scenario.topic) => {}
            Ok(scenario) => {
                if let Some(first) = ids.insert(scenario.id.clone(), file.clone()) {
                    errors.push(ScenarioError {
                        file,
                        line: None,
                        message: format!(
                            "scenario id {} is also defined by {}",
                            scenario.id,
                            first.display()
                        ),
                    });
                    continue;
                }
                scenarios.push(scenario);
            }
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, relative: &str, text: &str) -> PathBuf {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn loads_a_scenario_with_defaults_and_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "cookies/max_age.toml",
            "description = \"d\"\n[[step]]\npath = \"/cookies/read\"\n",
        );
        let scenario = load(dir.path(), &file).unwrap();
        assert_eq!(scenario.id, "cookies/max_age");
        assert_eq!(scenario.topic, "cookies");
        assert_eq!(scenario.profile, "default");
        assert_eq!(scenario.clock_start, DEFAULT_CLOCK_START);
        let step = &scenario.steps[0];
        assert_eq!(
            (
                step.method.as_str(),
                step.client.as_str(),
                step.name.as_str()
            ),
            ("GET", "default", "step 1")
        );
        assert_eq!(step.origin.line, 2);
        assert_eq!(step.observe, ObserveKind::ALL.to_vec());
    }

    #[test]
    fn unknown_fields_and_wrong_types_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "cookies/bad.toml",
            "[[step]]\npath = \"/x\"\n\n[[step]]\npath = \"/y\"\nmethdo = \"POST\"\n",
        );
        let err = load(dir.path(), &file).unwrap_err();
        assert_eq!(err.line, Some(6), "{err}");
        assert!(err.message.contains("unknown field `methdo`"), "{err}");
        let file = write(
            dir.path(),
            "cookies/type.toml",
            "[[step]]\npath = \"/x\"\nadvance = \"soon\"\n",
        );
        let err = load(dir.path(), &file).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("{}:3: ", file.display())),
            "{err}"
        );
    }

    #[test]
    fn semantic_errors_point_at_the_step() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "cookies/two_bodies.toml",
            "[[step]]\npath = \"/a\"\n\n[[step]]\npath = \"/b\"\ntext = \"x\"\njson = {}\n",
        );
        let err = load(dir.path(), &file).unwrap_err();
        assert_eq!(err.line, Some(4));
        assert!(err.message.contains("one body"));
        let file = write(
            dir.path(),
            "cookies/relative.toml",
            "[[step]]\npath = \"cookies\"\n",
        );
        assert!(
            load(dir.path(), &file)
                .unwrap_err()
                .message
                .contains("must start with `/`")
        );
    }

    #[test]
    fn includes_expand_in_place_and_cycles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "cookies/_set.toml",
            "[[step]]\nname = \"set\"\npath = \"/cookies/set\"\nmethod = \"POST\"\n",
        );
        let file = write(
            dir.path(),
            "cookies/uses.toml",
            "[[step]]\ninclude = \"_set.toml\"\n[[step]]\npath = \"/cookies/read\"\n",
        );
        let scenario = load(dir.path(), &file).unwrap();
        let names: Vec<_> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["set", "step 2"]);
        assert!(scenario.steps[0].origin.file.ends_with("_set.toml"));
        write(
            dir.path(),
            "cookies/_loop.toml",
            "[[step]]\ninclude = \"_loop.toml\"\n",
        );
        let file = write(
            dir.path(),
            "cookies/loops.toml",
            "[[step]]\ninclude = \"_loop.toml\"\n",
        );
        let err = load(dir.path(), &file).unwrap_err();
        assert!(err.file.ends_with("_loop.toml"), "{err}");
        assert_eq!(err.line, Some(1), "{err}");
        assert!(
            err.message
                .contains("the includes form a cycle: _loop.toml → _loop.toml"),
            "{err}"
        );
    }

    #[test]
    fn a_cycle_through_parent_folders_is_found_and_named() {
        // ../shared/repro/include-hazards/t1: `_a.toml` includes itself as `../cookies/_a.toml`.
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "cookies/_a.toml",
            "[[step]]\ninclude = \"../cookies/_a.toml\"\n",
        );
        let file = write(
            dir.path(),
            "cookies/t1.toml",
            "[[step]]\ninclude = \"_a.toml\"\n",
        );
        let err = load(dir.path(), &file).unwrap_err();
        assert!(err.file.ends_with("cookies/_a.toml"), "{err}");
        assert_eq!(err.line, Some(1), "{err}");
        assert!(err.message.contains("cycle: _a.toml → _a.toml"), "{err}");
    }

    #[test]
    fn includes_stay_inside_the_scenarios_folder_and_read_only_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let scenarios = dir.path().join("scenarios");
        write(dir.path(), "outside.toml", "[[step]]\npath = \"/\"\n");
        for (include, problem) in [
            ("/dev/zero", "outside the scenarios folder"),
            ("../../outside.toml", "outside the scenarios folder"),
            ("_missing.toml", "No such file"),
        ] {
            let file = write(
                &scenarios,
                "cookies/inc.toml",
                &format!("[[step]]\npath = \"/\"\n[[step]]\ninclude = \"{include}\"\n"),
            );
            let err = load(&scenarios, &file).unwrap_err();
            assert_eq!(err.line, Some(3), "{err}");
            assert!(err.message.contains(problem), "{include}: {err}");
        }
        let fifo = scenarios.join("cookies/_pipe.toml");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let file = write(
            &scenarios,
            "cookies/inc.toml",
            "[[step]]\ninclude = \"_pipe.toml\"\n",
        );
        let err = load(&scenarios, &file).unwrap_err();
        assert!(err.message.contains("not a regular file"), "{err}");
    }

    #[test]
    fn expansion_is_bounded_in_steps_and_includes() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "cookies/_many.toml",
            &"[[step]]\npath = \"/\"\n".repeat(101),
        );
        let file = write(
            dir.path(),
            "cookies/steps.toml",
            &"[[step]]\ninclude = \"_many.toml\"\n".repeat(100),
        );
        let err = load(dir.path(), &file).unwrap_err();
        assert!(err.file.ends_with("_many.toml"), "{err}");
        assert!(err.message.contains("more than 10000 steps"), "{err}");
        // ../shared/repro/include-hazards/fan6: each fragment includes the next ten times, and
        // fragments without steps expand to nothing at great cost: includes are bounded too.
        for level in 1..6 {
            let next = format!("[[step]]\ninclude = \"_f{}.toml\"\n", level + 1).repeat(10);
            write(dir.path(), &format!("cookies/_f{level}.toml"), &next);
        }
        write(dir.path(), "cookies/_f6.toml", "step = []\n");
        let file = write(
            dir.path(),
            "cookies/fan.toml",
            "[[step]]\ninclude = \"_f1.toml\"\n",
        );
        let err = load(dir.path(), &file).unwrap_err();
        assert!(
            err.message.contains("more than 1000 includes (the limit)"),
            "{err}"
        );
    }

    #[test]
    fn the_virtual_clock_stays_within_what_python_can_hold() {
        let dir = tempfile::tempdir().unwrap();
        for (text, line) in [
            ("clock = 253402300800\n[[step]]\npath = \"/\"\n", 1),
            ("clock = nan\n[[step]]\npath = \"/\"\n", 1),
            ("clock = -1\n[[step]]\npath = \"/\"\n", 1),
            (
                "[[step]]\npath = \"/\"\n[[step]]\npath = \"/\"\nadvance = 1e308\n",
                3,
            ),
        ] {
            let file = write(dir.path(), "cookies/clock.toml", text);
            let err = load(dir.path(), &file).unwrap_err();
            assert_eq!(err.line, Some(line), "{err}");
            assert!(err.message.contains("end of year 9999"), "{err}");
        }
        let file = write(
            dir.path(),
            "cookies/clock.toml",
            "clock = 253402300790\n[[step]]\npath = \"/\"\nadvance = 9\n",
        );
        assert_eq!(
            load(dir.path(), &file).unwrap().clock_start,
            253_402_300_790.0
        );
    }

    #[test]
    fn pairs_accept_tables_and_ordered_lists() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "cookies/pairs.toml",
            "[[step]]\npath = \"/r\"\nquery = { b = \"2\", a = \"1\" }\nheaders = [[\"Cookie\", \"a=1\"], [\"Cookie\", \"b=2\"]]\n",
        );
        let step = &load(dir.path(), &file).unwrap().steps[0];
        assert_eq!(
            step.query,
            vec![("b".into(), "2".into()), ("a".into(), "1".into())]
        );
        assert_eq!(step.headers.len(), 2);
    }

    #[test]
    fn a_redaction_needs_a_reason_and_a_valid_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[[redact]]\nfield = \"body.x\"\npattern = \"[a-z\"\nplaceholder = \"x\"\nreason = \"r\"\n[[step]]\npath = \"/\"\n";
        let file = write(dir.path(), "cookies/r.toml", text);
        let err = load(dir.path(), &file).unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("regex"));
        let file = write(
            dir.path(),
            "cookies/r2.toml",
            &text
                .replace("[a-z", "[a-z]")
                .replace("reason = \"r\"", "reason = \" \""),
        );
        assert!(
            load(dir.path(), &file)
                .unwrap_err()
                .message
                .contains("needs a reason")
        );
    }

    #[test]
    fn load_all_filters_topics_skips_fragments_and_reports_every_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "profiles.toml", "");
        write(dir.path(), "cookies/a.toml", "[[step]]\npath = \"/\"\n");
        write(dir.path(), "cookies/_frag.toml", "[[step]]\npath = \"/\"\n");
        write(dir.path(), "sessions/b.toml", "[[step]]\npath = \"/\"\n");
        let all = load_all(&[dir.path().to_owned()], &[]).unwrap();
        assert_eq!(
            all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["cookies/a", "sessions/b"]
        );
        let cookies = load_all(&[dir.path().to_owned()], &["cookies".into()]).unwrap();
        assert_eq!(cookies.len(), 1);
        write(dir.path(), "cookies/x.toml", "[[step]\n");
        write(
            dir.path(),
            "sessions/y.toml",
            "nope = 1\n[[step]]\npath = \"/\"\n",
        );
        let errors = load_all(&[dir.path().to_owned()], &[]).unwrap_err();
        assert_eq!(errors.len(), 2);
        write(dir.path(), "stray.toml", "");
        assert!(
            load_all(&[dir.path().to_owned()], &[]).unwrap_err()[0]
                .message
                .contains("topic folders")
        );
    }
}
