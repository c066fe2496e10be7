//! The three `X-Prometheus-Remote-Write-*-Written` headers of Remote Write 2.0.
//!
//! Receivers send them on every answer to a v2 request (2xx or not). A sender reads them to
//! account for partial writes and to detect a 1.0-only receiver (2xx and none present).
//! An unparsable value counts as 0, as Prometheus does.

/// One of the three Written headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrittenHeader {
    /// `X-Prometheus-Remote-Write-Samples-Written`.
    Samples,
    /// `X-Prometheus-Remote-Write-Histograms-Written`.
    Histograms,
    /// `X-Prometheus-Remote-Write-Exemplars-Written`.
    Exemplars,
}

impl WrittenHeader {
    /// All three, in the order receivers usually send them.
    pub const ALL: [WrittenHeader; 3] = [
        WrittenHeader::Samples,
        WrittenHeader::Histograms,
        WrittenHeader::Exemplars,
    ];

    /// The header's name, in its canonical spelling.
    pub fn name(self) -> &'static str {
        match self {
            WrittenHeader::Samples => "X-Prometheus-Remote-Write-Samples-Written",
            WrittenHeader::Histograms => "X-Prometheus-Remote-Write-Histograms-Written",
            WrittenHeader::Exemplars => "X-Prometheus-Remote-Write-Exemplars-Written",
        }
    }
}

/// What a receiver said it wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct WrittenCounts {
    /// Samples written.
    pub samples: u64,
    /// Histograms written.
    pub histograms: u64,
    /// Exemplars written.
    pub exemplars: u64,
}

impl WrittenCounts {
    /// Reads the three headers through `get` (which looks a header up by its canonical name,
    /// case-insensitively). `None` when none of the three is present.
    pub fn from_headers<'a>(mut get: impl FnMut(&'static str) -> Option<&'a str>) -> Option<Self> {
        let mut present = false;
        let mut read = |header: WrittenHeader| -> u64 {
            match get(header.name()) {
                Some(value) => {
                    present = true;
                    value.trim().parse().unwrap_or(0)
                }
                None => 0,
            }
        };
        let counts = WrittenCounts {
            samples: read(WrittenHeader::Samples),
            histograms: read(WrittenHeader::Histograms),
            exemplars: read(WrittenHeader::Exemplars),
        };
        present.then_some(counts)
    }

    /// Samples + histograms + exemplars.
    pub fn total(&self) -> u64 {
        self.samples
            .saturating_add(self.histograms)
            .saturating_add(self.exemplars)
    }

    /// The count for one header.
    pub fn get(&self, header: WrittenHeader) -> u64 {
        match header {
            WrittenHeader::Samples => self.samples,
            WrittenHeader::Histograms => self.histograms,
            WrittenHeader::Exemplars => self.exemplars,
        }
    }
}
