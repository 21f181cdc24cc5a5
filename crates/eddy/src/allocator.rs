//! The process's allocator: mimalloc, asked for alignment only where Rust needs more than every
//! mimalloc block has.
//!
//! The `mimalloc` crate's allocator passes every request through mimalloc's aligned entry
//! points, which check the alignment and look for a suitably aligned block before they
//! allocate. Nearly every request of a stream job (strings, vectors of records) needs no more
//! than a pointer's alignment, which every mimalloc block has: those go to the plain entry
//! points, a shorter path taken for each record's strings (`eddy bench pipeline`, string
//! cases).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment of every block mimalloc returns (its smallest size class is a pointer wide,
/// and every class is a multiple of it).
const BLOCK_ALIGN: usize = std::mem::size_of::<usize>();

/// mimalloc as the global allocator (version 2: see the workspace's Cargo.toml).
pub struct MiMalloc;

// SAFETY: every method forwards to mimalloc, which returns blocks of at least the requested
// size, aligned to `BLOCK_ALIGN` by the plain entry points and to the requested alignment by
// the aligned ones; blocks are freed and resized only through mimalloc.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for_and_keep_their_contents_when_resized() {
        for align in [1usize, 2, 4, 8, 16, 64, 4096] {
            for size in [1usize, 3, 8, 24, 100, 5000, 70_000] {
                let layout = Layout::from_size_align(size, align).expect("valid layout");
                // SAFETY: non-zero sizes; each block is written within its size, resized with
                // its own layout and freed once with the layout it has then.
                unsafe {
                    let block = MiMalloc.alloc(layout);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % align, 0, "{size} bytes aligned to {align}");
                    std::ptr::write_bytes(block, 0xab, size);
                    let grown = MiMalloc.realloc(block, layout, size * 3);
                    assert_eq!(grown as usize % align, 0);
                    assert!((0..size).all(|i| *grown.add(i) == 0xab));
                    let grown_layout = Layout::from_size_align(size * 3, align).expect("valid");
                    MiMalloc.dealloc(grown, grown_layout);
                    let zeroed = MiMalloc.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0);
                    assert!((0..size).all(|i| *zeroed.add(i) == 0));
                    MiMalloc.dealloc(zeroed, layout);
                }
            }
        }
    }
}
