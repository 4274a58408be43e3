//! Seeded train/database/query splits and per-epoch mini-batches.
//!
//! # Split
//!
//! [`split`] draws a uniform permutation `π` of `0..N` with a ChaCha8 generator seeded
//! by `ChaCha8Rng::seed_from_u64(seed)` (stream 0), then cuts it:
//! - `n_train = ⌊0.8 N⌋` (computed as `⌊4N / 5⌋`), `train = π[..n_train]`;
//! - the remaining `r = N − n_train` go half to the database and half to the query set,
//!   the database taking the extra one when `r` is odd: `n_db = ⌈r / 2⌉`,
//!   `n_query = ⌊r / 2⌋`.
//!
//! Each part keeps the permutation order (it is not sorted), so that ties in a
//! Hamming ranking broken by database position are broken at random rather than in
//! favour of low sample indices (which, in the class-folder layout, are low classes).
//! The smallest valid `N` is 6.
//!
//! # Cross-validation
//!
//! [`kfold`] cuts the same permutation `π` into `F` contiguous folds, fold `f` being
//! `π[⌊fN/F⌋ .. ⌊(f+1)N/F⌋]`. Split `f` holds fold `f` out (half to the database, the
//! database taking the extra one when odd, the rest to the query set) and trains on the
//! other folds, in permutation order. Every sample is held out exactly once, and with
//! `F = 5` the last split is exactly [`split`]'s 80/10/10 split for the same seed.
//!
//! # Batches
//!
//! [`epoch_batches`] shuffles `0..n_rows` for one epoch and cuts it into batches of
//! `batch_size`, the last one possibly shorter. The generator for epoch `e` is
//! `ChaCha8Rng::seed_from_u64(seed)` switched to stream `e + 1`, so each epoch's order
//! depends only on `(seed, epoch)`, never on earlier epochs, and differs from the
//! split's stream for the same seed.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// Indices of the three parts of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training samples (80 %).
    pub train: Vec<usize>,
    /// Retrieval database (the reference's "test" set; half of the rest, plus one when odd).
    pub database: Vec<usize>,
    /// Queries ranked against the database (the other half of the rest).
    pub query: Vec<usize>,
}

/// Splits `0..n_samples` into train (80 %), database and query (10 % each).
///
/// # Errors
///
/// [`Error::InvalidArgument`] when any part would be empty (`n_samples < 6`).
pub fn split(n_samples: usize, seed: u64) -> Result<Split> {
    let (n_train, _, n_query) = split_sizes(n_samples);
    if n_train == 0 || n_query == 0 {
        return Err(Error::InvalidArgument {
            reason: format!(
                "cannot split {n_samples} samples into non-empty train, database and query sets (need at least 6)"
            ),
        });
    }
    let mut perm: Vec<usize> = (0..n_samples).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let query = perm.split_off(n_samples - n_query);
    let database = perm.split_off(n_train);
    Ok(Split { train: perm, database, query })
}

/// The `folds` cross-validation splits of `0..n_samples` (see the module docs): split `f`
/// holds fold `f` out as database + query and trains on the other folds.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `folds < 2`, or when a fold would have fewer than two
/// samples (its database and query sets must not be empty).
pub fn kfold(n_samples: usize, folds: usize, seed: u64) -> Result<Vec<Split>> {
    if folds < 2 {
        return Err(Error::InvalidArgument {
            reason: format!("k-fold cross-validation needs at least 2 folds, got {folds}"),
        });
    }
    // The smallest fold has ⌊N/F⌋ samples.
    if n_samples / folds < 2 {
        return Err(Error::InvalidArgument {
            reason: format!(
                "cannot cut {n_samples} samples into {folds} folds of at least 2 (a fold is split into a database and a query set)"
            ),
        });
    }
    let mut perm: Vec<usize> = (0..n_samples).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let bound = |f: usize| n_samples / folds * f + n_samples % folds * f / folds; // ⌊fN/F⌋
    Ok((0..folds)
        .map(|f| {
            let (lo, hi) = (bound(f), bound(f + 1));
            let held = &perm[lo..hi];
            let n_db = held.len() - held.len() / 2;
            Split {
                train: [&perm[..lo], &perm[hi..]].concat(),
                database: held[..n_db].to_vec(),
                query: held[n_db..].to_vec(),
            }
        })
        .collect())
}

/// `(n_train, n_database, n_query)` for `n` samples, without overflow.
fn split_sizes(n: usize) -> (usize, usize, usize) {
    let n_train = n / 5 * 4 + n % 5 * 4 / 5; // ⌊4n / 5⌋
    let rest = n - n_train;
    (n_train, rest - rest / 2, rest / 2)
}

/// The mini-batches of one epoch: a fresh permutation of `0..n_rows` cut into chunks of
/// `batch_size` (the last one may be shorter).
///
/// Deterministic in `(seed, epoch)` and independent of other epochs. The indices are
/// positions `0..n_rows`, e.g. into [`Split::train`].
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `batch_size` or `n_rows` is 0.
pub fn epoch_batches(n_rows: usize, batch_size: usize, seed: u64, epoch: usize) -> Result<Vec<Vec<usize>>> {
    if batch_size == 0 || n_rows == 0 {
        return Err(Error::InvalidArgument {
            reason: format!("epoch_batches needs n_rows > 0 and batch_size > 0, got {n_rows} and {batch_size}"),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((epoch as u64).wrapping_add(1));
    let mut perm: Vec<usize> = (0..n_rows).collect();
    perm.shuffle(&mut rng);
    Ok(perm.chunks(batch_size).map(<[usize]>::to_vec).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<usize>) -> Vec<usize> {
        v.sort_unstable();
        v
    }

    #[test]
    fn split_sizes_for_several_n() {
        // (n, train, database, query)
        let cases = [
            (6, 4, 1, 1),
            (7, 5, 1, 1),
            (9, 7, 1, 1),
            (10, 8, 1, 1),
            (11, 8, 2, 1),
            (13, 10, 2, 1),
            (100, 80, 10, 10),
            (101, 80, 11, 10),
            (13_000, 10_400, 1300, 1300),
            (16_185, 12_948, 1619, 1618),
        ];
        for (n, train, db, q) in cases {
            let s = split(n, 7).unwrap();
            assert_eq!((s.train.len(), s.database.len(), s.query.len()), (train, db, q), "n = {n}");
            let all = sorted([s.train, s.database, s.query].concat());
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "n = {n}: not a partition");
        }
    }

    #[test]
    fn split_of_huge_n_does_not_overflow() {
        let n = usize::MAX;
        let (train, db, q) = split_sizes(n);
        assert_eq!(train as u128, (n as u128) * 4 / 5);
        assert_eq!(train as u128 + db as u128 + q as u128, n as u128);
        assert_eq!(db - q, (n - train) % 2);
    }

    #[test]
    fn split_too_small_is_an_error() {
        for n in 0..6 {
            let err = split(n, 0).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
            assert!(err.to_string().contains(&format!("{n} samples")));
        }
    }

    #[test]
    fn split_is_deterministic_and_seed_dependent() {
        assert_eq!(split(1000, 42).unwrap(), split(1000, 42).unwrap());
        assert_ne!(split(1000, 42).unwrap().train, split(1000, 43).unwrap().train);
        // It is a real shuffle, not the identity.
        assert_ne!(split(1000, 42).unwrap().train, (0..800).collect::<Vec<_>>());
    }

    #[test]
    fn kfold_holds_every_sample_out_exactly_once() {
        for (n, folds) in [(10, 5), (11, 5), (37, 3), (1000, 5), (1001, 10), (4, 2)] {
            let splits = kfold(n, folds, 3).unwrap();
            assert_eq!(splits.len(), folds);
            let mut held_out = Vec::new();
            for (f, s) in splits.iter().enumerate() {
                let all = sorted([s.train.clone(), s.database.clone(), s.query.clone()].concat());
                assert_eq!(all, (0..n).collect::<Vec<_>>(), "n = {n}, fold {f}: not a partition");
                let held = s.database.len() + s.query.len();
                assert!(held == n / folds || held == n / folds + 1, "n = {n}, fold {f}: {held} held out");
                assert!(s.database.len() == s.query.len() || s.database.len() == s.query.len() + 1);
                assert!(!s.query.is_empty());
                held_out.extend(s.database.iter().chain(&s.query));
            }
            assert_eq!(sorted(held_out), (0..n).collect::<Vec<_>>(), "n = {n}: held-out sets must tile 0..n");
        }
    }

    #[test]
    fn last_of_five_folds_is_the_plain_split() {
        for n in [10, 13, 101, 16_185] {
            assert_eq!(kfold(n, 5, 42).unwrap()[4], split(n, 42).unwrap(), "n = {n}");
        }
    }

    #[test]
    fn kfold_is_deterministic_and_checks_its_arguments() {
        assert_eq!(kfold(200, 5, 1).unwrap(), kfold(200, 5, 1).unwrap());
        assert_ne!(kfold(200, 5, 1).unwrap(), kfold(200, 5, 2).unwrap());
        for (n, folds) in [(100, 0), (100, 1), (9, 5), (0, 2)] {
            let err = kfold(n, folds, 0).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        }
    }

    #[test]
    fn batches_cover_every_row_once_per_epoch() {
        for (n, bs) in [(1, 1), (10, 3), (128, 128), (1000, 128), (5, 64)] {
            let batches = epoch_batches(n, bs, 3, 2).unwrap();
            assert_eq!(batches.len(), n.div_ceil(bs));
            assert!(batches[..batches.len() - 1].iter().all(|b| b.len() == bs));
            let last = n - bs * (batches.len() - 1);
            assert_eq!(batches.last().unwrap().len(), last);
            assert_eq!(sorted(batches.concat()), (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn batches_are_deterministic_per_seed_and_epoch() {
        let a = epoch_batches(500, 64, 9, 4).unwrap();
        assert_eq!(a, epoch_batches(500, 64, 9, 4).unwrap());
        assert_ne!(a, epoch_batches(500, 64, 9, 5).unwrap(), "epochs must reshuffle");
        assert_ne!(a, epoch_batches(500, 64, 10, 4).unwrap(), "seeds must differ");
        // Epoch e does not depend on having computed epochs before it.
        let direct = epoch_batches(500, 64, 9, 7).unwrap();
        for e in 0..7 {
            epoch_batches(500, 64, 9, e).unwrap();
        }
        assert_eq!(direct, epoch_batches(500, 64, 9, 7).unwrap());
        // Epoch 0 does not replay the split's permutation for the same seed.
        let s = split(500, 9).unwrap();
        assert_ne!(epoch_batches(500, 500, 9, 0).unwrap()[0][..400], s.train[..]);
    }

    #[test]
    fn zero_batch_size_or_rows_is_an_error() {
        assert!(matches!(epoch_batches(10, 0, 0, 0), Err(Error::InvalidArgument { .. })));
        assert!(matches!(epoch_batches(0, 8, 0, 0), Err(Error::InvalidArgument { .. })));
    }
}
