//! Runs one scenario against one target: sends each step with the client's cookies and the
//! virtual clock, records what came back, and applies the scenario's redactions.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use url::Url;

use super::cell::Cell;
use super::jar::Jar;
use super::normalize::Normalizer;
use super::observe::{Response, SignedDecoder, observe_step};
use super::profile::{Profile, Profiles};
use super::raw;
use super::scenario::{Body, Scenario, Step};
use super::targets::{Instance, Provenance, Target, TargetKind};
use crate::reference::Settings;

/// The targets of a run; a step pinned to a target (`target = "django"`) goes to that one.
#[derive(Clone, Default)]
pub struct Targets {
    pub django: Option<Arc<dyn Target>>,
    pub rust: Option<Arc<dyn Target>>,
}

impl Targets {
    pub fn get(&self, kind: TargetKind) -> Option<&Arc<dyn Target>> {
        match kind {
            TargetKind::Django => self.django.as_ref(),
            TargetKind::Rust => self.rust.as_ref(),
        }
    }

    pub async fn shutdown(&self) {
        for target in [&self.django, &self.rust].into_iter().flatten() {
            target.shutdown().await;
        }
    }
}

/// What one run of a scenario recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub steps: Vec<Value>,
    /// What the target under test runs or implements.
    pub provenance: Provenance,
}

pub struct Runner {
    pub profiles: Profiles,
    http: reqwest::Client,
}

impl Runner {
    pub fn new(profiles: Profiles) -> Runner {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .expect("a plain HTTP client builds");
        Runner { profiles, http }
    }

    /// Runs `scenario` in `cell` with `under_test` receiving every step that is not pinned
    /// elsewhere. `namespace` keeps this run's server-side state apart from every other run's.
    pub async fn run(
        &self,
        scenario: &Scenario,
        cell: Cell,
        under_test: TargetKind,
        targets: &Targets,
        namespace: &str,
    ) -> Result<Transcript, String> {
        let profile = self.profile(scenario)?;
        let settings =
            Settings::with_overrides_for(cell.django, &Value::Object(profile.settings.clone()))
                .map_err(|e| format!("profile {:?}: {e}", profile.name))?;
        let decoder = SignedDecoder {
            settings,
            salts: scenario.signing_salts.clone(),
        };
        let mut clock = scenario.clock_start;
        let mut jars: HashMap<String, Jar> = HashMap::new();
        let mut steps = Vec::new();
        let mut provenance = Provenance::default();
        for (index, step) in scenario.steps.iter().enumerate() {
            let number = index + 1;
            let at = |message: String| {
                format!("step {number} ({}, {}): {message}", step.name, step.origin)
            };
            let kind = step.target.unwrap_or(under_test);
            let target = targets.get(kind).ok_or_else(|| {
                at(format!(
                    "this step always goes to {kind}, which this run does not have"
                ))
            })?;
            // Not tied to the step: a target that cannot start fails every scenario alike.
            let instance = target
                .instance(cell, profile)
                .await
                .map_err(|e| e.to_string())?;
            if kind == under_test {
                provenance.clone_from(&instance.provenance);
            }
            if step.advance > 0.0 {
                clock += step.advance;
                for jar in jars.values_mut() {
                    jar.expire(clock);
                }
            }
            let jar = jars.entry(step.client.clone()).or_default();
            let (url, response) = match self.send(step, &instance, jar, clock, namespace).await {
                Ok(sent) => sent,
                // The target may know why (its process exited): that says more than the socket.
                Err(error) => match target.diagnose(cell, profile).await {
                    Some(cause) => return Err(at(format!("{error}: {cause}"))),
                    None => return Err(at(error)),
                },
            };
            if let Some(problem) = response.header_values("x-djc-contract-error").first() {
                return Err(at(format!(
                    "the {kind} app refused the request as outside the contract: {problem}"
                )));
            }
            jar.store_response(&response.header_values("set-cookie"), &url, clock);
            steps.push(observe_step(step, number, &response, jar, clock, &decoder));
        }
        let mut normalizer = Normalizer::new(&scenario.redactions);
        for record in &mut steps {
            normalizer.apply(record);
        }
        if let Some(unused) = normalizer.unmatched().first() {
            return Err(format!(
                "the redaction at {} (field {:?}, pattern {:?}) matched nothing in this run: fix its field or pattern, or remove it",
                unused.origin,
                unused.field.as_str(),
                unused.pattern.as_str()
            ));
        }
        Ok(Transcript { steps, provenance })
    }

    pub fn profile<'a>(&'a self, scenario: &Scenario) -> Result<&'a Profile, String> {
        self.profiles.get(&scenario.profile).ok_or_else(|| {
            let known: Vec<_> = self.profiles.names().collect();
            format!(
                "{}: unknown profile {:?}; declared profiles: {}",
                scenario.file.display(),
                scenario.profile,
                known.join(", ")
            )
        })
    }

    async fn send(
        &self,
        step: &Step,
        instance: &Instance,
        jar: &Jar,
        clock: f64,
        namespace: &str,
    ) -> Result<(Url, Response), String> {
        let mut url = instance
            .base_url
            .join(step.path.trim_start_matches('/'))
            .map_err(|e| format!("path {:?} does not make a URL: {e}", step.path))?;
        if let Some(bytes) = &step.raw {
            return Ok((url, raw::exchange(&instance.base_url, bytes).await?));
        }
        if !step.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&step.query);
        }
        let mut request = self
            .http
            .request(step.method.clone(), url.clone())
            .header("X-Djc-Clock", format_clock(clock))
            .header("X-Djc-Namespace", namespace);
        let explicit_cookie = step
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("cookie"));
        if !explicit_cookie && let Some(cookies) = jar.cookie_header(&url) {
            request = request.header("Cookie", cookies);
        }
        for (name, value) in &step.headers {
            request = request.header(name, value);
        }
        request = with_body(request, step)?;
        let response = request
            .send()
            .await
            .map_err(|e| format!("{} {url} failed: {e}", step.method))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("reading the body of {url} failed: {e}"))?
            .to_vec();
        Ok((
            url,
            Response {
                status,
                headers,
                body,
            },
        ))
    }
}

/// The clock as the contract's header carries it: integral seconds without a fraction.
pub fn format_clock(clock: f64) -> String {
    if clock.fract() == 0.0 {
        format!("{}", clock as i64)
    } else {
        format!("{clock}")
    }
}

fn with_body(
    request: reqwest::RequestBuilder,
    step: &Step,
) -> Result<reqwest::RequestBuilder, String> {
    let typed = |request: reqwest::RequestBuilder, default: &str| {
        request.header(
            "Content-Type",
            step.content_type
                .clone()
                .unwrap_or_else(|| default.to_owned()),
        )
    };
    Ok(match &step.body {
        None => match &step.content_type {
            Some(content_type) => request.header("Content-Type", content_type),
            None => request,
        },
        Some(Body::Json(value)) => typed(request, "application/json").body(value.to_string()),
        Some(Body::Form(pairs)) => {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            typed(request, "application/x-www-form-urlencoded").body(encoded)
        }
        Some(Body::Text(text)) => match &step.content_type {
            Some(content_type) => request
                .header("Content-Type", content_type)
                .body(text.clone()),
            None => request.body(text.clone()),
        },
        Some(Body::Multipart(parts)) => {
            let mut form = reqwest::multipart::Form::new();
            for part in parts {
                let mut body = reqwest::multipart::Part::text(part.content.clone());
                if let Some(filename) = &part.filename {
                    body = body.file_name(filename.clone());
                }
                if let Some(content_type) = &part.content_type {
                    body = body
                        .mime_str(content_type)
                        .map_err(|e| format!("multipart part {:?}: {e}", part.name))?;
                }
                form = form.part(part.name.clone(), body);
            }
            request.multipart(form)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_header_has_no_fraction_when_whole() {
        assert_eq!(format_clock(1_700_000_000.0), "1700000000");
        assert_eq!(format_clock(1_700_000_000.5), "1700000000.5");
    }
}
