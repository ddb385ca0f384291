//! Values that check themselves and the rules of the service. Nothing here
//! knows about AWS or HTTP.

pub mod challenge;
pub mod code;
pub mod cursor;
pub mod event;
pub mod invite;
pub mod language;
pub mod metric;
pub mod phone;
pub mod service;
pub mod settings;
pub mod sms;
pub mod source;
pub mod test_phones;
pub mod time;
pub mod token;
pub mod user;
pub mod window;
