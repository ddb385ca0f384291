//! SMS through Amazon SNS, as transactional messages (the class carriers
//! deliver first and that SNS does not send to opted-out numbers silently).

use async_trait::async_trait;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::adapters::lazy::LazyClient;
use crate::domain::phone::Phone;
use crate::error::{Error, Result};
use crate::ports::SmsSender;

pub struct SnsSms {
    client: LazyClient<aws_sdk_sns::Client>,
}

impl SnsSms {
    pub fn new(client: aws_sdk_sns::Client) -> SnsSms {
        SnsSms {
            client: LazyClient::ready(client),
        }
    }

    /// A sender whose client is built on its first message.
    pub fn lazy(sdk: &aws_config::SdkConfig) -> SnsSms {
        SnsSms {
            client: LazyClient::new(sdk, aws_sdk_sns::Client::new),
        }
    }
}

#[async_trait]
impl SmsSender for SnsSms {
    #[tracing::instrument(skip_all)]
    async fn send(&self, to: &Phone, text: &str) -> Result<()> {
        let sms_type = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| Error::Internal(format!("building the SMS attributes: {e}")))?;
        self.client
            .publish()
            .phone_number(to.as_str())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", sms_type)
            .send()
            .await
            .map_err(|e| {
                // The service's message can quote the number: log the code only.
                let code = e.code().unwrap_or("no response");
                tracing::error!(error.code = code, "SNS publish failed");
                Error::SmsUnavailable(format!("SNS publish failed: {code}"))
            })?;
        Ok(())
    }
}
