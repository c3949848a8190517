//! A minimal HTTP/1.1 client over one keep-alive TCP connection, which may
//! start with the PROXY line C tor sends (`HiddenServiceExportCircuitID
//! haproxy`), so loopback connections can stand in for Tor circuits. Used
//! by `flood.rs` and by the flood measurement (`bench/flood.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The line C tor writes first for global circuit number `gid`.
pub fn proxy_line(gid: u32) -> String {
    format!(
        "PROXY TCP6 fc00:dead:beef:4dad::{:x}:{:x} ::1 {} 80\r\n",
        gid >> 16,
        gid & 0xffff,
        gid & 0xffff
    )
}

/// One keep-alive HTTP/1.1 connection, as a browser behind tor would use.
pub struct Conn {
    r: BufReader<TcpStream>,
}

/// A response: what the tests read of it.
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Conn {
    /// Connect; with `gid`, start with C tor's PROXY line for that circuit.
    pub fn open(addr: &str, gid: Option<u32>) -> Conn {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.set_nodelay(true).unwrap();
        if let Some(g) = gid {
            s.write_all(proxy_line(g).as_bytes()).unwrap();
        }
        Conn {
            r: BufReader::new(s),
        }
    }

    pub fn from_stream(s: TcpStream) -> Conn {
        Conn {
            r: BufReader::new(s),
        }
    }

    /// POST a report form to `/{lang}/report`; `None` if the server closed
    /// the connection.
    pub fn post_report(&mut self, lang: &str, fields: &[(&str, &str)]) -> Option<Page> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = format!(
            "POST /{lang}/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.r.get_mut().write_all(req.as_bytes()).ok()?;
        self.read_reply()
    }

    pub fn read_reply(&mut self) -> Option<Page> {
        let mut line = String::new();
        if self.r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let status = line.split(' ').nth(1)?.parse().ok()?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.r.read_line(&mut line).ok()?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':')?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.r.read_exact(&mut body).ok()?;
        Some(Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Does the server close this connection without answering?
    pub fn closed_unanswered(mut self) -> bool {
        let _ = self
            .r
            .get_mut()
            .write_all(b"GET /en/ HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut rest = Vec::new();
        matches!(self.r.read_to_end(&mut rest), Ok(0) | Err(_)) && rest.is_empty()
    }
}
