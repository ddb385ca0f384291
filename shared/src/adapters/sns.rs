//! SMS through Amazon SNS, as transactional messages (the class carriers
//! deliver first and that SNS does not send to opted-out numbers silently).

use async_trait::async_trait;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::adapters::lazy::LazyClient;
use crate::config::SmsSending;
use crate::error::{Error, Result};
use crate::ports::{OtpMessage, SmsSender};

pub struct SnsSms {
    client: LazyClient<aws_sdk_sns::Client>,
    attributes: Vec<(&'static str, String)>,
}

impl SnsSms {
    pub fn new(client: aws_sdk_sns::Client, sending: &SmsSending) -> SnsSms {
        SnsSms {
            client: LazyClient::ready(client),
            attributes: attributes(sending),
        }
    }

    /// A sender whose client is built on its first message.
    pub fn lazy(sdk: &aws_config::SdkConfig, sending: &SmsSending) -> SnsSms {
        SnsSms {
            client: LazyClient::new(sdk, aws_sdk_sns::Client::new),
            attributes: attributes(sending),
        }
    }
}

/// The message attributes of every SMS: always transactional, and the
/// sender id, origination number and price cap the settings give.
fn attributes(sending: &SmsSending) -> Vec<(&'static str, String)> {
    let mut attributes = vec![("AWS.SNS.SMS.SMSType", "Transactional".to_owned())];
    let optional = [
        ("AWS.SNS.SMS.SenderID", &sending.sender_id),
        ("AWS.MM.SMS.OriginationNumber", &sending.origination_number),
        ("AWS.SNS.SMS.MaxPrice", &sending.max_price_usd),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            attributes.push((name, value.clone()));
        }
    }
    attributes
}

#[async_trait]
impl SmsSender for SnsSms {
    #[tracing::instrument(skip_all)]
    async fn send(&self, message: &OtpMessage<'_>) -> Result<()> {
        let mut publish = self
            .client
            .publish()
            .phone_number(message.to.as_str())
            .message(message.text);
        for (name, value) in &self.attributes {
            // MaxPrice is a number to SNS; the others are strings.
            let data_type = if *name == "AWS.SNS.SMS.MaxPrice" {
                "Number"
            } else {
                "String"
            };
            let attribute = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .map_err(|e| Error::Internal(format!("building the SMS attributes: {e}")))?;
            publish = publish.message_attributes(*name, attribute);
        }
        publish.send().await.map_err(|e| {
            // The service's message can quote the number: log the code only.
            let code = e.code().unwrap_or("no response");
            tracing::error!(error.code = code, "SNS publish failed");
            Error::SmsUnavailable(format!("SNS publish failed: {code}"))
        })?;
        Ok(())
    }
}
