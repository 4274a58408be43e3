//! The cut-off of a ranking, [`TopK`]: the whole database or its first `K` items.
//!
//! The type, its size rule and its printed form live here, apart from the ranking, so that
//! [`Error`](crate::Error), which names a cut-off, does not depend on the ranking code;
//! parsing ([`FromStr`](std::str::FromStr)) and validation, which produce errors, are
//! implemented beside the ranking (`rank.rs`), which re-exports the type as `rank::TopK`.

use std::fmt;

/// How many ranks to keep: the whole database or the first `K`.
///
/// Parses from and prints as `all` or a positive integer, for command lines:
///
/// ```
/// use hagcn_eval::TopK;
///
/// assert_eq!("all".parse::<TopK>().unwrap(), TopK::All);
/// assert_eq!("200".parse::<TopK>().unwrap(), TopK::K(200));
/// assert!("0".parse::<TopK>().is_err());
/// assert_eq!(TopK::K(5000).to_string(), "5000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopK {
    /// The whole database.
    All,
    /// The first `K` ranks (`K ≥ 1`); the whole database when `K` exceeds its size.
    K(usize),
}

impl TopK {
    /// The number of ranks kept for a database of `n_database` items, `min(K, N)`.
    pub fn len_for(self, n_database: usize) -> usize {
        match self {
            TopK::All => n_database,
            TopK::K(k) => k.min(n_database),
        }
    }
}

impl fmt::Display for TopK {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopK::All => f.write_str("all"),
            TopK::K(k) => write!(f, "{k}"),
        }
    }
}
