//! The generator against the reference's rules, and the source in jobs.

mod generator;
mod queries;
mod source;
