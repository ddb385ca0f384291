//! A stand-in on loopback for a service the code calls over HTTP: every
//! request is read whole and kept, then given one fixed answer. For the
//! tests that check what is sent (the answer to CloudFormation's presigned
//! URL, DynamoDB's DescribeEndpoints at start-up). A request is kept
//! before it is answered, so a caller that got its answer finds it here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as received: the request line, the header lines, the body.
#[derive(Clone, Debug)]
pub struct Request {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, its name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What every request gets: a status line's code and reason ("200 OK"),
/// and a body with its content type, or none.
#[derive(Clone, Copy)]
pub struct Answer {
    pub status: &'static str,
    pub body: Option<(&'static str, &'static str)>,
}

#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    received: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    pub fn start(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a receiver");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let kept = Arc::clone(&kept);
                // A client may keep its connection open for the next request.
                std::thread::spawn(move || serve(stream, &kept, answer));
            }
        });
        Receiver { url, received }
    }

    /// Every request so far, in the order they came.
    pub fn received(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, kept: &Mutex<Vec<Request>>, answer: Answer) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    while let Some(request) = read(&mut reader) {
        kept.lock().unwrap().push(request);
        let (typed, body) = match answer.body {
            Some((content_type, body)) => (format!("content-type: {content_type}\r\n"), body),
            None => (String::new(), ""),
        };
        let response = format!(
            "HTTP/1.1 {}\r\n{typed}content-length: {}\r\n\r\n{body}",
            answer.status,
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// One request off the connection; None once the client closes it.
fn read(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        if header == "\r\n" {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        line: line.trim_end().to_owned(),
        headers,
        body: Vec::new(),
    };
    let length = request
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    request.body = vec![0; length];
    reader.read_exact(&mut request.body).ok()?;
    Some(request)
}
