//! What goru's `src/loom.rs` is, with loom's atomics and cells: the files a model
//! includes name `crate::loom::atomic` and `crate::loom::cell`.

#![allow(unused_imports)] // each model uses some of it
pub mod atomic {
    pub use ::loom::sync::atomic::*;
}

pub mod cell {
    pub use ::loom::cell::UnsafeCell;
}
