//! SDK clients built on their first call. Building one builds its HTTPS
//! connector and loads the trust store; a cold start whose request is
//! refused before any AWS call (a malformed phone, a bad token) need not
//! pay for that, and one that does pays for it once, when it first calls.

use std::ops::Deref;
use std::sync::OnceLock;

use aws_config::SdkConfig;

/// How a client is built: `Client::new`, given the SDK configuration.
type Build<T> = fn(&SdkConfig) -> T;

pub struct LazyClient<T> {
    client: OnceLock<T>,
    build: Option<(SdkConfig, Build<T>)>,
}

impl<T> LazyClient<T> {
    /// A client built from `sdk` by `build` when first used.
    pub fn new(sdk: &SdkConfig, build: Build<T>) -> LazyClient<T> {
        LazyClient {
            client: OnceLock::new(),
            build: Some((sdk.clone(), build)),
        }
    }

    /// A client built already.
    pub fn ready(client: T) -> LazyClient<T> {
        LazyClient {
            client: OnceLock::from(client),
            build: None,
        }
    }
}

impl<T> Deref for LazyClient<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.client.get_or_init(|| {
            let (sdk, build) = self
                .build
                .as_ref()
                .expect("a client not built is built from its configuration");
            build(sdk)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    fn counted(sdk: &SdkConfig) -> String {
        BUILT.fetch_add(1, Ordering::SeqCst);
        format!("client in {:?}", sdk.region())
    }

    #[test]
    fn builds_once_on_first_use_only() {
        let sdk = SdkConfig::builder().build();
        let lazy = LazyClient::new(&sdk, counted);
        assert_eq!(BUILT.load(Ordering::SeqCst), 0);
        assert_eq!(&*lazy, "client in None");
        assert_eq!(lazy.len(), "client in None".len());
        assert_eq!(BUILT.load(Ordering::SeqCst), 1);
        assert_eq!(&*LazyClient::ready("built".to_owned()), "built");
    }
}
