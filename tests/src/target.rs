//! A scrape target with many series for a real Prometheus sender: serves generated text
//! exposition on `GET /metrics` from a thread on a free loopback port.
//!
//! Invariants: `series` series `prw_e2e_generated{shard="<k mod 16>",id="<k>"}` whose value
//! changes on every scrape; it stops (and its port closes) when the guard drops.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

/// The metric name every generated series has.
pub const METRIC: &str = "prw_e2e_generated";

/// A running scrape target.
#[derive(Debug)]
pub struct ScrapeTarget {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    scrapes: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl ScrapeTarget {
    /// Serves `series` series on 127.0.0.1 with a free port.
    pub fn start(series: usize) -> std::io::Result<ScrapeTarget> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = Arc::new(AtomicU64::new(0));
        let thread = {
            let stop = Arc::clone(&stop);
            let scrapes = Arc::clone(&scrapes);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let n = scrapes.fetch_add(1, Ordering::SeqCst);
                    let _ = serve(stream, series, n);
                }
            })
        };
        Ok(ScrapeTarget {
            addr,
            stop,
            scrapes,
            thread: Some(thread),
        })
    }

    /// The `host:port` to scrape.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Scrapes served so far.
    pub fn scrapes(&self) -> u64 {
        self.scrapes.load(Ordering::SeqCst)
    }

    /// Waits until `n` more scrapes were served (a test's clock when a sender scrapes every
    /// second); `during` names the phase in the timeout message. Allows 3 s per scrape + 10 s.
    pub fn wait_scrapes(&self, n: u64, during: &str) -> Result<(), String> {
        let goal = self.scrapes() + n;
        crate::wait::until(
            &format!("{n} scrapes ({during})"),
            std::time::Duration::from_secs(n * 3 + 10),
            || {
                let s = self.scrapes();
                if s >= goal {
                    Ok(())
                } else {
                    Err(format!("{s} of {goal} scrapes"))
                }
            },
        )
    }
}

fn exposition(series: usize, n: u64) -> String {
    let mut body = String::with_capacity(series * 64);
    body.push_str(&format!("# TYPE {METRIC} gauge\n"));
    for k in 0..series {
        body.push_str(&format!(
            "{METRIC}{{shard=\"{}\",id=\"{k}\"}} {}\n",
            k % 16,
            n * 1000 + k as u64
        ));
    }
    body
}

fn serve(stream: TcpStream, series: usize, n: u64) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    // Read the request head; one request per connection.
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let body = exposition(series, n);
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

impl Drop for ScrapeTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
