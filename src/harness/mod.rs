//! The conformance harness: scenarios, targets, normalisation, snapshots, diffs, reports and the
//! `djc` command line. It treats every target alike and writes only Django's output into
//! snapshots.

pub mod cell;
pub mod cli;
pub mod diff;
pub mod files;
pub mod interrupt;
pub mod jar;
pub mod ledger;
pub mod normalize;
pub mod observe;
pub mod panics;
pub mod path;
pub mod profile;
pub mod progress;
pub mod raw;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod snapshot;
pub mod suite;
pub mod targets;
