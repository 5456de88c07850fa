//! Integration tests of the engine and the CLI against a real S3 server started in the test process.
//! One test binary with a module per area (the ripgrep layout), so it links once.

mod support;

mod across;
mod app;
mod cli;
mod control;
mod copies;
mod dragout;
mod faults;
mod input;
mod interference;
mod links;
mod listing;
mod local_listing;
mod objects;
mod pages;
mod requests;
mod streams;
mod sync;
mod transfers;
mod versions;
mod watch;
