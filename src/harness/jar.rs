//! A client's cookie jar (cookie_store, RFC 6265 storage and matching) kept on the scenario's
//! virtual clock: cookie_store measures expiry against the real clock, so dates coming in are
//! moved from virtual to real time, and advancing the virtual clock moves every expiry back.

use cookie_store::{CookieExpiration, CookieStore, RawCookie};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

#[derive(Debug, Default)]
pub struct Jar {
    store: CookieStore,
}

fn real_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn seconds(duration: f64) -> time::Duration {
    time::Duration::seconds_f64(duration)
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
    /// Values a browser would reject are ignored, as a browser ignores them.
    pub fn store_response(&mut self, set_cookies: &[String], url: &Url, now: f64) {
        for line in set_cookies {
            let Ok(mut cookie) = RawCookie::parse(line.trim_start().to_owned()) else {
                continue;
            };
            // Max-Age wins over Expires (RFC 6265), and cookie_store applies it from the real now.
            if cookie.max_age().is_none()
                && let Some(expires) = cookie.expires_datetime()
            {
                let from_now = (expires.unix_timestamp() as f64) - now;
                cookie.set_expires(real_now() + seconds(from_now));
            }
            let _ = self.store.insert_raw(&cookie, url);
        }
    }

    /// Moves the virtual clock forward: every persistent cookie is that much closer to expiry.
    pub fn advance(&mut self, by: f64, url: &Url) {
        let cookies: Vec<_> = self.store.iter_unexpired().cloned().collect();
        self.store.clear();
        for mut cookie in cookies {
            if let CookieExpiration::AtUtc(at) = cookie.expires {
                cookie.expires = CookieExpiration::AtUtc(at - seconds(by));
            }
            // An expired cookie is refused by the store: it is gone, as in a browser.
            let _ = self.store.insert(cookie, url);
        }
    }

    /// The cookies a browser would still hold at virtual time `now`.
    pub fn observe(&self, now: f64) -> Value {
        let real = real_now();
        let cookies: Vec<Value> = self
            .store
            .iter_unexpired()
            .map(|cookie| {
                let expires = match cookie.expires {
                    CookieExpiration::SessionEnd => Value::from("session"),
                    CookieExpiration::AtUtc(at) => {
                        let virtual_at = now + (at - real).as_seconds_f64();
                        Value::from(http_date(virtual_at.round()))
                    }
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

/// `Wdy, DD Mon YYYY HH:MM:SS GMT` for Unix seconds (negative times clamp to the epoch).
pub fn http_date(unix: f64) -> String {
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
        assert_eq!(
            jar.observe(T0)[0]["expires"],
            "Tue, 14 Nov 2023 22:13:30 GMT"
        );
        jar.advance(9.0, &url());
        assert!(jar.cookie_header(&url()).is_some());
        assert_eq!(
            jar.observe(T0 + 9.0)[0]["expires"],
            "Tue, 14 Nov 2023 22:13:30 GMT"
        );
        jar.advance(2.0, &url());
        assert_eq!(jar.cookie_header(&url()), None);
        assert_eq!(jar.observe(T0 + 11.0), json!([]));
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
        assert_eq!(
            jar.observe(T0)[0]["expires"],
            "Wed, 15 Nov 2023 00:00:00 GMT"
        );
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
        assert_eq!(jar.observe(T0), json!([]));
    }

    #[test]
    fn observes_attributes() {
        let mut jar = Jar::default();
        jar.store_response(
            &["s=1; HttpOnly; Path=/; SameSite=Lax; Secure".into()],
            &url(),
            T0,
        );
        let seen = &jar.observe(T0)[0];
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
}
