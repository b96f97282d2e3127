//! django-conformance: a Rust reference implementation of Django behaviours, the Rust app that
//! serves it over the conformance contract, and the harness that compares it with a real Django.
//!
//! * [`reference`]: Django's observable behaviour as a plain library (no HTTP, no harness).
//! * [`app`]: the Rust reference app, serving [`reference`] through the contract in
//!   `django_reference/CONTRACT.md`.
//! * [`harness`]: scenarios, targets, normalisation, snapshots, diffs, reports and the `djc` CLI.

#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "harness")]
pub mod harness;
pub mod reference;
