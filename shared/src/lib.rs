//! The phone-login and referral service: domain rules, the ports they need,
//! the DynamoDB, SNS and in-memory adapters, and the HTTP layer that every
//! Lambda function and the dev server share.

pub mod adapters;
pub mod config;
/// CloudFormation custom resources: answering the stack.
pub mod custom_resource;
pub mod domain;
pub mod error;
pub mod http;
pub mod lambda;
pub mod ports;
pub mod startup;

pub use error::{Error, Result};
