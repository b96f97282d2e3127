//! A client's cookie jar: cookie_store does RFC 6265 storage and matching (domain, path, which
//! cookie replaces which), and this module keeps every expiry on the scenario's virtual clock
//! itself. cookie_store measures expiry against the real clock with date arithmetic that cannot
//! hold what servers send (`expires` in year 9999, `Max-Age` of 10^12), so it only ever sees
//! cookies that are alive (as session cookies) or already dead.

use std::collections::HashMap;

use cookie_store::{CookieExpiration, CookieStore, RawCookie};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

/// Where cookie_store keeps a cookie: its domain, path and name.
type CookieKey = (String, String, String);

#[derive(Debug, Default)]
pub struct Jar {
    store: CookieStore,
    /// The virtual expiry (Unix seconds) of each persistent cookie; session cookies are absent.
    expiry: HashMap<CookieKey, f64>,
}

fn key_of(cookie: &cookie_store::Cookie) -> CookieKey {
    (
        String::from(&cookie.domain),
        String::from(&cookie.path),
        cookie.name().to_owned(),
    )
}

impl Jar {
    /// The `Cookie` header a browser would send to `url`, if any cookie matches: longer paths
    /// first (RFC 6265 §5.4; cookie_store keeps storage order). The order decides which value
    /// Django keeps for a repeated name (the last one).
    pub fn cookie_header(&self, url: &Url) -> Option<String> {
        let mut cookies = self.store.matches(url);
        cookies.sort_by_key(|cookie| std::cmp::Reverse(String::from(&cookie.path).len()));
        let pairs: Vec<String> = cookies
            .iter()
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Stores the `Set-Cookie` values of a response received from `url` at virtual time `now`.
    /// Values a browser would reject are ignored, as a browser ignores them. Whatever the bytes,
    /// this never panics: the lines come from the app under test.
    pub fn store_response(&mut self, set_cookies: &[String], url: &Url, now: f64) {
        for line in set_cookies {
            let Ok(mut raw) = RawCookie::parse(line.trim_start().to_owned()) else {
                continue;
            };
            // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
            let expires_at = match (raw.max_age(), raw.expires_datetime()) {
                (Some(max_age), _) => Some(now + max_age.whole_seconds() as f64),
                (None, Some(expires)) => Some(expires.unix_timestamp() as f64),
                (None, None) => None,
            };
            raw.set_max_age(None);
            raw.unset_expires();
            let Ok(mut cookie) = cookie_store::Cookie::try_from_raw_cookie(&raw, url) else {
                continue;
            };
            let key = key_of(&cookie);
            let dead = expires_at.is_some_and(|at| at <= now);
            // A dead cookie still reaches the store: it removes the one it names.
            cookie.expires = if dead {
                CookieExpiration::AtUtc(OffsetDateTime::UNIX_EPOCH)
            } else {
                CookieExpiration::SessionEnd
            };
            if self.store.insert(cookie.into_owned(), url).is_err() && !dead {
                continue;
            }
            match expires_at.filter(|_| !dead) {
                Some(at) => self.expiry.insert(key, at),
                None => self.expiry.remove(&key),
            };
        }
    }

    /// The virtual clock has reached `now`: every cookie whose expiry has come is gone, as in a
    /// browser.
    pub fn expire(&mut self, now: f64) {
        let store = &mut self.store;
        self.expiry.retain(|(domain, path, name), at| {
            let alive = *at > now;
            if !alive {
                store.remove(domain, path, name);
            }
            alive
        });
    }

    /// The cookies a browser would hold now.
    pub fn observe(&self) -> Value {
        let cookies: Vec<Value> = self
            .store
            .iter_unexpired()
            .map(|cookie| {
                let expires = match self.expiry.get(&key_of(cookie)) {
                    None => Value::from("session"),
                    Some(at) => Value::from(http_date(*at)),
                };
                let domain = match &cookie.domain {
                    cookie_store::CookieDomain::Suffix(suffix) => Value::from(suffix.as_str()),
                    _ => Value::Null,
                };
                json!({
                    "name": cookie.name(),
                    "value": cookie.value(),
                    "domain": domain,
                    "path": String::from(&cookie.path),
                    "secure": cookie.secure().unwrap_or(false),
                    "http_only": cookie.http_only().unwrap_or(false),
                    "same_site": cookie.same_site().map(|s| s.to_string()),
                    "expires": expires,
                })
            })
            .collect();
        Value::Array(cookies)
    }
}

/// The last instant an HTTP date can name: Fri, 31 Dec 9999 23:59:59 GMT.
pub const LAST_HTTP_DATE: f64 = 253_402_300_799.0;

/// `Wdy, DD Mon YYYY HH:MM:SS GMT` for Unix seconds (a fraction is cut, as the format does). Total, because the instant may come from
/// the app under test: times before 1970 clamp to the epoch, and an instant after year 9999 or
/// not a number is named as such.
pub fn http_date(unix: f64) -> String {
    if unix.is_nan() {
        return "not a time (NaN)".to_owned();
    }
    if unix > LAST_HTTP_DATE {
        return format!("after year 9999 ({unix} s)");
    }
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0.0) as u64);
    httpdate::fmt_http_date(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:8000/cookies/set").unwrap()
    }

    const T0: f64 = 1_700_000_000.0;

    #[test]
    fn sends_stored_cookies_back_as_a_browser_does() {
        let mut jar = Jar::default();
        jar.store_response(
            &["a=\"b c\"; Path=/".into(), "z=1; Path=/other".into()],
            &url(),
            T0,
        );
        assert_eq!(jar.cookie_header(&url()).as_deref(), Some("a=\"b c\""));
        let other = Url::parse("http://127.0.0.1:8000/other/x").unwrap();
        assert_eq!(
            jar.cookie_header(&other).as_deref(),
            Some("z=1; a=\"b c\""),
            "the longer path goes first"
        );
    }

    #[test]
    fn max_age_expiry_follows_the_virtual_clock() {
        let mut jar = Jar::default();
        jar.store_response(
            &["a=b; expires=Tue, 14 Nov 2023 22:13:30 GMT; Max-Age=10; Path=/".into()],
            &url(),
            T0,
        );
        assert_eq!(jar.observe()[0]["expires"], "Tue, 14 Nov 2023 22:13:30 GMT");
        jar.expire(T0 + 9.0);
        assert!(jar.cookie_header(&url()).is_some());
        assert_eq!(jar.observe()[0]["expires"], "Tue, 14 Nov 2023 22:13:30 GMT");
        jar.expire(T0 + 11.0);
        assert_eq!(jar.cookie_header(&url()), None);
        assert_eq!(jar.observe(), json!([]));
    }

    #[test]
    fn an_expires_date_is_read_on_the_virtual_clock() {
        // In virtual time (2023) this date is in the future, although it is past in real time.
        let mut jar = Jar::default();
        jar.store_response(
            &["a=b; expires=Wed, 15 Nov 2023 00:00:00 GMT; Path=/".into()],
            &url(),
            T0,
        );
        assert_eq!(jar.observe()[0]["expires"], "Wed, 15 Nov 2023 00:00:00 GMT");
        jar.store_response(
            &["old=1; expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/".into()],
            &url(),
            T0,
        );
        assert_eq!(jar.cookie_header(&url()).as_deref(), Some("a=b"));
    }

    #[test]
    fn a_deletion_cookie_removes_the_stored_one() {
        let mut jar = Jar::default();
        jar.store_response(&["a=b; Path=/".into()], &url(), T0);
        jar.store_response(
            &["a=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/".into()],
            &url(),
            T0,
        );
        assert_eq!(jar.cookie_header(&url()), None);
        assert_eq!(jar.observe(), json!([]));
    }

    #[test]
    fn observes_attributes() {
        let mut jar = Jar::default();
        jar.store_response(
            &["s=1; HttpOnly; Path=/; SameSite=Lax; Secure".into()],
            &url(),
            T0,
        );
        let seen = &jar.observe()[0];
        assert_eq!(
            (
                seen["secure"].clone(),
                seen["http_only"].clone(),
                seen["same_site"].clone()
            ),
            (json!(true), json!(true), json!("Lax"))
        );
        assert_eq!(seen["expires"], "session");
        assert_eq!(seen["domain"], Value::Null);
    }

    #[test]
    fn far_futures_and_huge_max_ages_are_kept_without_date_arithmetic() {
        // Each of these panicked the jar once (../shared/repro/scenario-panics).
        let mut jar = Jar::default();
        jar.store_response(
            &[
                "never=1; expires=Fri, 31 Dec 9999 23:59:59 GMT; Path=/".into(),
                "huge=1; expires=x; Max-Age=1000000000000; Path=/".into(),
                "max=1; Max-Age=9223372036854775807; Path=/".into(),
            ],
            &url(),
            T0,
        );
        let seen = jar.observe();
        assert_eq!(seen[0]["expires"], "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(seen[1]["expires"], "after year 9999 (1001700000000 s)");
        assert_eq!(seen.as_array().unwrap().len(), 3);
        jar.expire(f64::MAX);
        assert_eq!(jar.observe(), json!([]), "every expiry comes at last");
    }

    #[test]
    fn any_clock_is_safe() {
        for now in [
            f64::NAN,
            f64::INFINITY,
            -1e308,
            1e308,
            9.223_372_036_854_776e18,
        ] {
            let mut jar = Jar::default();
            jar.store_response(
                &[
                    "a=1; Max-Age=10".into(),
                    "b=1; expires=Thu, 01 Jan 1970 00:00:01 GMT".into(),
                ],
                &url(),
                now,
            );
            jar.expire(now);
            let _ = jar.observe();
            let _ = jar.cookie_header(&url());
        }
    }

    #[test]
    fn http_dates_are_total() {
        assert_eq!(http_date(0.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(-5.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(LAST_HTTP_DATE), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(1e308).split(' ').next(), Some("after"));
        assert_eq!(http_date(f64::NAN), "not a time (NaN)");
    }
}
