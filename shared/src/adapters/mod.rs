//! The ports in other worlds: DynamoDB and SNS for production, memory and the
//! console for development and tests.

pub mod console;
pub mod dynamodb;
pub mod emf;
pub mod https;
pub mod lazy;
pub mod memory;
pub mod secrets;
pub mod sns;
pub mod turnstile;
pub mod webhook;
