//! A minimal Lambda runtime API: hands one event to the function process
//! that asks for it and reports when the response comes back, so a cold
//! start can be timed from spawn to first response, as Lambda sees it (the
//! bench), and a test can run a function as Lambda does.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Run as the first event is handed over (the bench moves the process
/// into its CPU group there: Lambda's init is not throttled).
type Hook = Box<dyn FnOnce() + Send>;

struct Pending {
    event: Option<String>,
    done: Option<oneshot::Sender<String>>,
    /// The event waits for a hook when one is expected.
    expecting_hook: bool,
    hook: Option<Hook>,
}

pub struct RuntimeApi {
    pub address: String,
    pending: Arc<Mutex<Pending>>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the runtime API");
        let address = listener.local_addr().unwrap().to_string();
        let pending = Arc::new(Mutex::new(Pending {
            event: None,
            done: None,
            expecting_hook: false,
            hook: None,
        }));
        let shared = Arc::clone(&pending);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| serve(Arc::clone(&shared), request));
                    let _closed = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RuntimeApi { address, pending }
    }

    /// The next event is handed over only once `set_hook` has given a
    /// hook, which runs first: for a hook that needs the process's id,
    /// known after the spawn that races the process's first request.
    pub fn expect_hook(&self) {
        self.pending.lock().unwrap().expecting_hook = true;
    }

    pub fn set_hook(&self, hook: impl FnOnce() + Send + 'static) {
        self.pending.lock().unwrap().hook = Some(Box::new(hook));
    }

    /// Queues the next event; the receiver yields the function's response.
    pub fn offer(&self, event: String) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        let mut pending = self.pending.lock().unwrap();
        pending.event = Some(event);
        pending.done = Some(tx);
        rx
    }
}

async fn serve(
    pending: Arc<Mutex<Pending>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if path.ends_with("/invocation/next") {
        // Wait for an event; a function asks again right after answering.
        loop {
            let ready = {
                let mut pending = pending.lock().unwrap();
                if pending.expecting_hook && pending.hook.is_none() {
                    None
                } else if let Some(event) = pending.event.take() {
                    pending.expecting_hook = false;
                    Some((event, pending.hook.take()))
                } else {
                    None
                }
            };
            if let Some((event, hook)) = ready {
                if let Some(hook) = hook {
                    hook();
                }
                let response = Response::builder()
                    .header("lambda-runtime-aws-request-id", "local-request")
                    .header("lambda-runtime-deadline-ms", "9999999999999")
                    .header(
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:local",
                    )
                    .header(
                        "lambda-runtime-trace-id",
                        "Root=1-00000000-000000000000000000000000",
                    )
                    .body(Full::new(Bytes::from(event)))
                    .unwrap();
                return Ok(response);
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answered = path.ends_with("/response") || path.ends_with("/error");
    if answered && let Some(done) = pending.lock().unwrap().done.take() {
        // The bench stops waiting only on a timeout, which fails it anyway.
        let _receiver_gone = done.send(String::from_utf8_lossy(&body).into_owned());
    }
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))
        .unwrap())
}
