//! Turning SDK errors into the service's: throttling and network faults are
//! `StoreUnavailable`, a failed condition is an answer the caller expects,
//! anything else is `Internal`. The SDK's message is never passed on.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};

use crate::error::Error;

const RETRYABLE: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

pub fn store_error<E: ProvideErrorMetadata, R>(
    operation: &'static str,
    error: SdkError<E, R>,
) -> Error {
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            Error::StoreUnavailable(format!("{operation}: no response from DynamoDB"))
        }
        _ => match error.code() {
            Some(code) if RETRYABLE.contains(&code) => {
                Error::StoreUnavailable(format!("{operation}: {code}"))
            }
            Some(code) => Error::Internal(format!("{operation}: {code}")),
            None => Error::Internal(format!("{operation}: unexpected response")),
        },
    }
}

/// Whether a write went through (`true`) or was refused by its condition
/// (`false`); any other failure is an error.
pub fn conditional<T, E: ProvideErrorMetadata, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<bool, Error> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(store_error(operation, e)),
    }
}

/// A transaction DynamoDB cancelled, with each item's reason in order.
#[derive(Debug)]
pub struct Cancelled {
    reasons: Vec<Option<String>>,
}

impl Cancelled {
    /// The first item whose condition failed.
    pub fn failed_index(&self) -> Option<usize> {
        self.reasons
            .iter()
            .position(|r| r.as_deref() == Some("ConditionalCheckFailed"))
    }
}

pub enum TransactError {
    Cancelled(Cancelled),
    /// Another transaction held one of the items: worth trying again.
    Conflict,
    Other(Error),
}

pub fn transact_outcome<R>(
    result: Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, R>>,
) -> Result<(), TransactError> {
    let error = match result {
        Ok(_) => return Ok(()),
        Err(error) => error,
    };
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            let reasons: Vec<Option<String>> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().map(str::to_owned))
                .collect();
            let has = |code: &str| reasons.iter().any(|r| r.as_deref() == Some(code));
            if has("ConditionalCheckFailed") {
                Err(TransactError::Cancelled(Cancelled { reasons }))
            } else if has("TransactionConflict") {
                Err(TransactError::Conflict)
            } else if has("ThrottlingError") || has("ProvisionedThroughputExceeded") {
                Err(TransactError::Other(Error::StoreUnavailable(
                    "TransactWriteItems: throttled".into(),
                )))
            } else {
                Err(TransactError::Other(Error::Internal(format!(
                    "TransactWriteItems cancelled: {reasons:?}"
                ))))
            }
        }
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
            Err(TransactError::Conflict)
        }
        _ => Err(TransactError::Other(store_error(
            "TransactWriteItems",
            error,
        ))),
    }
}
