//! Hints about memory for the large tables the batch pipeline reads at random: they change
//! what the caches and the page tables hold, never a result.

/// Asks the CPU to bring the cache line at `address` in, for a read a little later. Reads
/// nothing the program sees; a no-op where there is no such instruction here.
pub(crate) fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no effect but on the caches and never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Asks Linux to back `table` with 2 MiB pages where it can (the whole 2 MiB pages inside
/// it), before it is first written. A table of tens of megabytes read at random costs a page
/// walk on nearly every read with 4 KiB pages: more entries than the TLB holds. Only for large
/// tables: the kernel zeroes a huge page at its first touch, wasted on small ones. A no-op on
/// other systems, and where the kernel declines.
pub(crate) fn prefer_huge_pages<T>(table: &[T]) {
    const HUGE: usize = 2 << 20;
    let bytes = std::mem::size_of_val(table);
    if bytes < 2 * HUGE {
        return;
    }
    let start = table.as_ptr() as usize;
    let first = start.next_multiple_of(HUGE);
    let end = (start + bytes) / HUGE * HUGE;
    #[cfg(target_os = "linux")]
    if end > first {
        // SAFETY: the range lies inside `table`'s allocation, page-aligned; MADV_HUGEPAGE
        // changes how pages are backed, never their contents.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (first, end);
}
