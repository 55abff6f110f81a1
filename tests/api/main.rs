//! Integration tests through the real HTTP API (one test binary: each binary links the whole stack).

// A test is one scenario read top to bottom (create, move, assert); splitting it to fit the 80-line habit of the
// product code would scatter what it checks.
#![allow(clippy::too_many_lines)]

mod support;

mod analytics;
mod attachments;
mod audit_trail;
mod backup;
mod browser;
mod chaos;
mod chat;
mod cluster;
mod companies;
mod cursors;
mod demo;
mod errors;
mod every_write;
mod exports;
mod hardening;
mod imports;
mod ledger;
mod mail;
mod operations;
mod pages;
mod people;
mod projects;
mod records;
mod scheduler;
mod security;
mod service;
mod web;
