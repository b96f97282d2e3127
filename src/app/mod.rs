//! The Rust reference app: serves [`crate::reference`] through the contract in
//! `django_reference/CONTRACT.md`.
