//! Fuzz targets for everything that reads untrusted input: the scenario loader (scenario files,
//! profiles, the ledger), the harness's readers of what an app sends back (Set-Cookie lines, the
//! jar, signed values, snapshots, reports) and the reference library's parsers, plus the Rust
//! app's request handling. The property everywhere: no panic, whatever the input.
//!
//! `cargo test --test fuzz` runs each target briefly with a fixed seed (what CI runs). A longer
//! campaign with fresh seeds, for as long as you like:
//!
//! ```sh
//! DJC_FUZZ_SECONDS=3600 cargo test --release --test fuzz -- --nocapture --test-threads 1
//! ```
//!
//! (the time is per target). Each target prints how many inputs it tried. A failure prints the
//! shrunk input and the seed: keep the input as a regression test where its code is tested.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use django_conformance::app;
use django_conformance::harness::cell::Cell;
use django_conformance::harness::jar::{Jar, http_date};
use django_conformance::harness::ledger::Ledger;
use django_conformance::harness::observe::{
    Response, SignedDecoder, observe_step, parse_set_cookie,
};
use django_conformance::harness::profile::Profiles;
use django_conformance::harness::report::diff_text;
use django_conformance::harness::runner::{Runner, Targets};
use django_conformance::harness::scenario::{self, Scenario};
use django_conformance::harness::snapshot::SnapshotStore;
use django_conformance::harness::targets::{RustTarget, Target, TargetKind};
use django_conformance::reference::cookies::{decode_cookie_header, parse_cookie, unquote};
use django_conformance::reference::signing::{self, Signer, TimestampSigner, try_b62_decode};
use django_conformance::reference::{PyText, Settings, pyjson};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Runs `test` on inputs from `strategy`: `cases` of them from a seed fixed by the target's
/// name, or, with `DJC_FUZZ_SECONDS`, batches from fresh seeds until that much time has passed.
fn fuzz<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value))
where
    S::Value: Debug,
{
    let seconds: u64 = std::env::var("DJC_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    let mut seed = hasher.finish();
    let mut tried: u64 = 0;
    loop {
        let config = Config {
            cases,
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: None,
            max_shrink_iters: 2_000,
            ..Config::default()
        };
        let result = TestRunner::new(config).run(&strategy, |input| {
            test(input);
            Ok::<(), TestCaseError>(())
        });
        if let Err(failure) = result {
            panic!("fuzz target {name} failed with seed {seed}: {failure}");
        }
        tried += u64::from(cases);
        if Instant::now() >= deadline {
            break;
        }
        seed = rand_seed(seed);
    }
    eprintln!("fuzz {name}: {tried} inputs, no panic");
}

fn rand_seed(previous: u64) -> u64 {
    let mut hasher = DefaultHasher::new();
    (previous, Instant::now()).hash(&mut hasher);
    hasher.finish()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project's own scenario files: the corpus the loader's mutations start from.
static CORPUS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let roots = [repo().join("scenarios")];
    scenario::discover(&roots)
        .unwrap()
        .into_iter()
        .map(|(_, file)| std::fs::read_to_string(file).unwrap())
        .collect()
});

/// Tokens that break parsers: numbers at and past the limits, TOML and JSON punctuation, the
/// fields whose values reach the jar and the clock.
const TOKENS: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "9223372036854775808",
    "9223372036854775807",
    "253402300800",
    "-1",
    "0",
    "0.5",
    "\"",
    "'''",
    "\"\"\"",
    "[[step]]",
    "[[redact]]",
    "{",
    "}",
    "[",
    "]",
    "=",
    ",",
    "\n",
    "\\",
    "\\u0000",
    "advance = ",
    "clock = ",
    "max_age = ",
    "expires = ",
    "include = \"_x.toml\"",
    "include = \"../cookies/_x.toml\"",
    "include = \"/dev/zero\"",
    "observe = []",
    "profile = \"x\"",
    "target = \"rust\"",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "zzzzzzzzzzzz",
    "\u{202e}",
    "é",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, String),
    Delete(usize, usize),
    Replace(usize, usize, String),
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => any::<i64>().prop_map(|i| i.to_string()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), token()).prop_map(|(at, t)| Mutation::Insert(at, t)),
        (any::<usize>(), 0..16usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 0..16usize, token()).prop_map(|(at, n, t)| Mutation::Replace(at, n, t)),
    ]
}

/// The nearest char boundary at or below `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_owned();
    for mutation in mutations {
        match mutation {
            Mutation::Insert(at, token) => {
                let at = boundary(&text, *at);
                text.insert_str(at, token);
            }
            Mutation::Delete(at, len) | Mutation::Replace(at, len, _) => {
                let start = boundary(&text, *at);
                let end = boundary(&text, start + len);
                let end = end.max(start);
                let with = match mutation {
                    Mutation::Replace(_, _, token) => token.as_str(),
                    _ => "",
                };
                text.replace_range(start..end, with);
            }
        }
    }
    text
}

fn mutated_corpus_file() -> impl Strategy<Value = String> {
    (0..CORPUS.len(), proptest::collection::vec(mutation(), 1..8))
        .prop_map(|(index, mutations)| mutate(&CORPUS[index], &mutations))
}

/// A scenarios folder with `text` as `cookies/fuzzed.toml` and two fragments it may include.
fn scenarios_folder(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cookies = dir.path().join("cookies");
    std::fs::create_dir_all(&cookies).unwrap();
    std::fs::write(
        cookies.join("_x.toml"),
        "[[step]]\npath = \"/cookies/read\"\n",
    )
    .unwrap();
    std::fs::write(
        cookies.join("_loop.toml"),
        "[[step]]\ninclude = \"_loop.toml\"\n",
    )
    .unwrap();
    let file = cookies.join("fuzzed.toml");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

#[test]
fn the_scenario_loader_takes_any_file() {
    fuzz("scenario loader", 2_000, mutated_corpus_file(), |text| {
        let (dir, file) = scenarios_folder(&text);
        let _ = scenario::load(dir.path(), &file);
    });
}

#[test]
fn the_profile_and_ledger_loaders_take_any_file() {
    let profiles = std::fs::read_to_string(repo().join("scenarios/profiles.toml")).unwrap();
    let ledger = "[[divergence]]\nscenario = \"cookies/*\"\nstep = 1\nfield = \"set_cookies[*].raw\"\n\
                  class = \"intentional\"\nreason = \"why\"\n";
    let strategy = (
        proptest::sample::select(vec![profiles, ledger.to_owned()]),
        proptest::collection::vec(mutation(), 1..8),
    )
        .prop_map(|(text, mutations)| mutate(&text, &mutations));
    fuzz("profiles and ledger", 2_000, strategy, |text| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("profiles.toml"), &text).unwrap();
        std::fs::write(dir.path().join("known-divergences.toml"), &text).unwrap();
        let roots = [dir.path().to_owned()];
        let _ = Profiles::load(&roots);
        let _ = Ledger::load(&roots);
    });
}

/// A runtime and the Rust app, shared by the targets that run requests.
struct RustApp {
    runtime: tokio::runtime::Runtime,
    targets: Targets,
}

static RUST_APP: LazyLock<RustApp> = LazyLock::new(|| RustApp {
    runtime: tokio::runtime::Runtime::new().unwrap(),
    targets: Targets {
        django: None,
        rust: Some(Arc::new(RustTarget::default()) as Arc<dyn Target>),
    },
});

#[test]
fn mutated_scenarios_that_load_run_through_the_harness() {
    // The run phase reads what the app sends back for whatever the scenario asked: clocks,
    // expiry, signed values. Only files that load get here.
    fuzz(
        "loaded scenarios, run",
        200,
        mutated_corpus_file(),
        |text| {
            let (dir, file) = scenarios_folder(&text);
            let Ok(scenario) = scenario::load(dir.path(), &file) else {
                return;
            };
            let runner = Runner::new(Profiles::load(&[repo().join("scenarios")]).unwrap());
            let app = &*RUST_APP;
            for cell in Cell::all() {
                let run = runner.run(&scenario, cell, TargetKind::Rust, &app.targets, "fuzz");
                let _ = app.runtime.block_on(run);
            }
        },
    );
}

/// Set-Cookie lines as servers write them, and as they should never write them.
fn set_cookie_line() -> impl Strategy<Value = String> {
    let attribute = prop_oneof![
        Just("expires=Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        Just("expires=Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
        "expires=\\PC{0,30}",
        any::<i64>().prop_map(|n| format!("Max-Age={n}")),
        "Max-Age=\\PC{0,12}",
        "(Path|Domain|SameSite)=\\PC{0,12}",
        Just("Secure".to_owned()),
        Just("HttpOnly".to_owned()),
        "\\PC{0,12}",
    ];
    (
        "\\PC{0,10}",
        "\\PC{0,40}",
        proptest::collection::vec(attribute, 0..6),
    )
        .prop_map(|(name, value, attributes)| {
            std::iter::once(format!("{name}={value}"))
                .chain(attributes)
                .collect::<Vec<_>>()
                .join("; ")
        })
}

fn any_clock() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0..253_402_300_799.0f64,
        1 => any::<f64>(),
        1 => proptest::sample::select(vec![f64::NAN, f64::INFINITY, f64::MAX, -1.0, 1e20]),
    ]
}

#[test]
fn the_jar_and_the_set_cookie_reader_take_any_header() {
    let url = url::Url::parse("http://127.0.0.1:8000/cookies/set").unwrap();
    let strategy = (
        proptest::collection::vec(set_cookie_line(), 1..6),
        any_clock(),
        any_clock(),
    );
    fuzz(
        "jar and Set-Cookie",
        5_000,
        strategy,
        |(lines, now, later)| {
            let mut jar = Jar::default();
            for line in &lines {
                let _ = parse_set_cookie(line, now);
            }
            jar.store_response(&lines, &url, now);
            let _ = jar.cookie_header(&url);
            jar.expire(later);
            let _ = jar.observe();
            let _ = http_date(later);
        },
    );
}

/// A step that records everything, for `observe_step`.
static STEP: LazyLock<Scenario> = LazyLock::new(|| {
    let (dir, file) = scenarios_folder("signing_salts = [\"\", \"s\"]\n[[step]]\npath = \"/\"\n");
    scenario::load(dir.path(), &file).unwrap()
});

#[test]
fn a_step_is_recorded_whatever_the_response() {
    let decoder = SignedDecoder {
        settings: Settings::default(),
        salts: STEP.signing_salts.clone(),
    };
    let value = prop_oneof![
        "\\PC{0,20}:[0-9A-Za-z]{1,14}:[A-Za-z0-9_-]{27,30}",
        "\\PC{0,40}",
    ];
    let strategy = (
        any::<u16>(),
        proptest::collection::vec(
            (
                "[a-z-]{1,12}",
                proptest::collection::vec(any::<u8>(), 0..40),
            ),
            0..6,
        ),
        proptest::collection::vec(value, 0..4),
        proptest::collection::vec(any::<u8>(), 0..200),
        any_clock(),
    );
    fuzz(
        "step records",
        3_000,
        strategy,
        |(status, headers, signed, body, now)| {
            let mut headers: Vec<(String, Vec<u8>)> = headers;
            headers.extend(
                signed
                    .iter()
                    .map(|value| ("set-cookie".to_owned(), format!("a={value}").into_bytes())),
            );
            headers.push(("content-type".into(), b"application/json".to_vec()));
            let response = Response {
                status,
                headers,
                body,
            };
            let _ = observe_step(&STEP.steps[0], 1, &response, &Jar::default(), now, &decoder);
        },
    );
}

#[test]
fn snapshots_and_reports_are_read_whatever_their_text() {
    let snapshot =
        std::fs::read_to_string(repo().join("snapshots/cookies/set_cookie_plain.snap")).unwrap();
    let strategy = (
        proptest::collection::vec(mutation(), 1..8),
        proptest::option::of(proptest::collection::vec("\\PC{0,20}", 0..3)),
    );
    fuzz(
        "snapshots and reports",
        2_000,
        strategy,
        |(mutations, only)| {
            let text = mutate(&snapshot, &mutations);
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("cookies")).unwrap();
            std::fs::write(dir.path().join("cookies/x.snap"), &text).unwrap();
            for cell in Cell::all() {
                let _ = SnapshotStore::new(dir.path().to_owned()).read("cookies/x", cell);
            }
            if let Ok(report) = serde_json::from_str::<Value>(&text) {
                let _ = diff_text(&report, only.as_deref());
            }
            let report = json!({"scenarios": [{"id": "x", "divergences": [{"step": text, "path": 1}],
                            "django": [text.clone()], "drift": text}]});
            let _ = diff_text(&report, only.as_deref());
        },
    );
}

#[test]
fn the_reference_parsers_take_any_input() {
    let settings = Settings::default();
    let signer = TimestampSigner::new(Signer::new(&settings.secret_key));
    // Payloads that verify reach the decoding of the value: base64, zlib, JSON.
    let payload = prop_oneof!["\\.?[A-Za-z0-9_=+/-]{0,60}", "\\PC{0,40}",];
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..80),
        "\\PC{0,60}",
        payload,
        "[0-9A-Za-z-]{0,14}",
        proptest::option::of(any_clock()),
        any_clock(),
    );
    fuzz(
        "reference parsers",
        5_000,
        strategy,
        |(bytes, text, payload, b62, max_age, now)| {
            let header = decode_cookie_header(&bytes);
            let _ = parse_cookie(&header);
            let _ = parse_cookie(&text);
            let _ = unquote(&text);
            let _ = try_b62_decode(&b62);
            let _ = signing::b62_decode_text(&PyText::Bytes(bytes.clone()));
            let _ = signing::b64_decode(&bytes);
            let _ = signer.unsign(PyText::Bytes(bytes.clone()), max_age, now);
            let _ = pyjson::loads(&text);
            let _ = signing::loads(&text, &settings.secret_key, &[], "", max_age, now);
            let _ = signer.unsign(&text, max_age, now);
            if let Ok(signed) = signer.sign(&payload, now) {
                let salt = "django.core.signing";
                let _ = signing::loads(&signed, &settings.secret_key, &[], salt, max_age, now);
                let _ = signer.unsign(&signed, max_age, now);
            }
        },
    );
}

/// JSON values the contract's arguments might be given.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        proptest::sample::select(vec![1e308, 1e12, -1e20, 0.5, 253_402_300_800.0])
            .prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::from),
        Just(json!("Fri, 31 Dec 9999 23:59:59 GMT")),
        "[\\x00-\\u{ff}]{0,12}".prop_map(|bytes| json!({ "bytes": bytes })),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const ARGUMENTS: &[&str] = &[
    "key",
    "value",
    "max_age",
    "expires",
    "path",
    "domain",
    "secure",
    "httponly",
    "samesite",
    "salt",
    "signer",
    "sep",
    "algorithm",
    "fallback_keys",
    "obj",
    "compress",
    "key_salt",
    "secret",
    "datetime",
    "timedelta",
    "default",
    "signature_key",
    "serializer",
    "val1",
    "val2",
    "bytes",
];

fn contract_request() -> impl Strategy<Value = (String, String, Option<String>)> {
    let op = (
        proptest::sample::select([&app::COOKIE_OPS[..], &app::SIGNING_OPS[..]].concat()),
        proptest::collection::vec((proptest::sample::select(ARGUMENTS), json_value()), 0..6),
    )
        .prop_map(|(op, arguments)| {
            let mut object = serde_json::Map::new();
            object.insert("op".into(), op.into());
            for (name, value) in arguments {
                object.insert(name.into(), value);
            }
            Value::Object(object)
        });
    let body = prop_oneof![
        3 => proptest::collection::vec(op, 0..4).prop_map(|ops| json!({"ops": ops}).to_string()),
        1 => json_value().prop_map(|signed| json!({"signed": [signed]}).to_string()),
        1 => "\\PC{0,40}",
    ];
    (
        proptest::sample::select(vec!["/cookies/set", "/cookies/read", "/cookies/signing"]),
        body,
        proptest::option::of(prop_oneof!["[0-9]{1,25}(\\.[0-9]{1,5})?", "\\PC{0,12}"]),
    )
        .prop_map(|(path, body, clock)| (path.to_owned(), body, clock))
}

#[test]
fn the_rust_app_answers_any_contract_request() {
    // The app emulating each cell of the matrix.
    let routers: Vec<axum::Router> = Cell::all()
        .into_iter()
        .map(|cell| app::router(Settings::for_version(cell.django), cell.server))
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    fuzz(
        "app requests",
        3_000,
        (contract_request(), proptest::sample::select(routers)),
        |((path, body, clock), router)| {
            let mut request = axum::http::Request::post(path)
                .header("content-type", "application/json")
                .header("cookie", "a=\"b\\054c\"; s=x:1:AAAAAAAAAAAAAAAAAAAAAAAAAAA");
            if let Some(clock) = clock {
                request = request.header("x-djc-clock", clock);
            }
            let request = request.body(Body::from(body)).unwrap();
            let _ = runtime.block_on(router.oneshot(request));
        },
    );
}
