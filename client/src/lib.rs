//! The buyer's side of a zkinfer node: the wire types of its HTTP API ([`api`]) and, with the
//! `http` feature, an async [`Client`] that submits an input, waits for the proof and checks it
//! locally ([`check`]): against a model id the buyer pinned, under the buyer's setup policy,
//! and against the input the buyer sent. The node's word is never taken for anything.

pub mod api;
mod check;
#[cfg(feature = "http")]
mod http;

pub use check::check;
#[cfg(feature = "http")]
pub use http::{Client, ClientError};
