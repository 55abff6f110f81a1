//! Integration tests through the real HTTP API (one test binary: each binary links the whole stack).

mod support;

mod analytics;
mod companies;
mod demo;
mod errors;
mod exports;
mod ledger;
mod mail;
mod projects;
mod records;
mod scheduler;
mod security;
