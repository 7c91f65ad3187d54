//! An events file mapped into memory and read in place, as a [`BufRead`]: gigabytes copied
//! through `read()` cost seconds of kernel time. Pieces already read are released from this
//! process (they stay in the page cache), so the resident memory is the reader's own, not the
//! whole file's. Shared with the pipeline bench (`benches/pipeline.rs` includes this file).

use std::fs::File;
use std::io::{self, BufRead, Read};

/// How much of the file is handed out at a time, and released once read.
const PIECE: usize = 64 << 20;

/// A mapped file, read front to back.
pub struct MappedLines {
    map: memmap2::Mmap,
    at: usize,
    /// The end of the pieces whose pages were mapped ahead of reading (Linux only).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    populated: usize,
}

impl MappedLines {
    /// Maps `file`, which nothing may truncate while it is read (reads past a new end fault,
    /// as with any mapped input; ripgrep and others take the same trade for speed).
    pub fn new(file: &File) -> io::Result<MappedLines> {
        // SAFETY: the mapping is only read; see the doc above for a file truncated meanwhile.
        let map = unsafe { memmap2::Mmap::map(file) }?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(MappedLines {
            map,
            at: 0,
            populated: 0,
        })
    }
}

impl Read for MappedLines {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let piece = self.fill_buf()?;
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for MappedLines {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let end = ((self.at / PIECE + 1) * PIECE).min(self.map.len());
        #[cfg(target_os = "linux")]
        if end > self.populated {
            // A piece's page tables filled in one call, rather than by a fault every few pages
            // as the scan reaches them; where the kernel lacks it, faults do the same.
            let start = self.at / PIECE * PIECE;
            let _ = self
                .map
                .advise_range(memmap2::Advice::PopulateRead, start, end - start);
            self.populated = end;
        }
        Ok(&self.map[self.at..end])
    }

    fn consume(&mut self, n: usize) {
        let before = self.at / PIECE;
        self.at += n;
        let done = self.at / PIECE;
        if done > before {
            #[cfg(unix)]
            // SAFETY: a read-only private file mapping: released pages are read again from the
            // file if touched.
            unsafe {
                let _ = self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    before * PIECE,
                    (done - before) * PIECE,
                );
            }
        }
    }
}
