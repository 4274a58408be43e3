//! What every metric shares: the check of its inputs (one label per code, compatible code
//! sets) and, for one query, the number of database items `n_d` and of relevant items `r_d`
//! at each Hamming distance `d = 0..=n_bits`, from which the radius and tie-aware metrics
//! take their cumulative sums `T_ρ = Σ_{d ≤ ρ} n_d`, `A_ρ = Σ_{d ≤ ρ} r_d`.

use crate::codes::PackedCodes;
use crate::error::{Error, Result};
use crate::rank::Ranker;

/// For one query: the number of database items (`.0`) and of items labelled `label`
/// (`.1`) at each Hamming distance `0..=n_bits`.
pub(super) fn distance_counts(
    ranker: &Ranker,
    query_idx: usize,
    label: usize,
    db_labels: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    let n_buckets = ranker.n_bits() + 1;
    let mut items = vec![0usize; n_buckets];
    let mut relevant = vec![0usize; n_buckets];
    ranker.for_each_distance(query_idx, |db_idx, dist| {
        items[dist as usize] += 1;
        relevant[dist as usize] += usize::from(db_labels[db_idx] == label);
    });
    (items, relevant)
}

/// Validates the label lengths and the code sets.
pub(super) fn check_inputs(
    query: &PackedCodes,
    query_labels: &[usize],
    database: &PackedCodes,
    db_labels: &[usize],
) -> Result<()> {
    for (set, codes, labels) in [("query set", query, query_labels), ("database", database, db_labels)] {
        if labels.len() != codes.n_codes() {
            return Err(Error::LabelsLength { set, n_codes: codes.n_codes(), n_labels: labels.len() });
        }
    }
    crate::rank::validate_sets(query, database)
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::rank::TopK;
    use crate::rank::tests::codes;
    use crate::{
        Error, PackedCodes, legacy_map, pr_curve, precision_at, precision_recall_within_radius, tie_aware_map,
    };

    #[test]
    fn errors() {
        let q = codes(&["0101", "0000"]);
        let db = codes(&["0101", "1111", "0011"]);
        let (ql, dl) = ([0, 1], [0, 1, 2]);
        let labels_err = Some(Error::LabelsLength { set: "query set", n_codes: 2, n_labels: 1 });
        assert_eq!(precision_at(&q, &[0], &db, &dl, &[1]).err(), labels_err);
        assert_eq!(precision_recall_within_radius(&q, &[0], &db, &dl, 1).err(), labels_err);
        assert_eq!(pr_curve(&q, &[0], &db, &dl).err(), labels_err);
        assert_eq!(tie_aware_map(&q, &[0], &db, &dl, &[TopK::All]).err(), labels_err);
        assert_eq!(legacy_map(&q, &[0], &db, &dl, TopK::All).err(), labels_err);
        assert_eq!(
            tie_aware_map(&q, &ql, &db, &[0, 1], &[TopK::All]),
            Err(Error::LabelsLength { set: "database", n_codes: 3, n_labels: 2 })
        );
        assert_eq!(precision_at(&q, &ql, &db, &dl, &[3, 0]), Err(Error::ZeroK));
        assert_eq!(tie_aware_map(&q, &ql, &db, &dl, &[TopK::K(0)]), Err(Error::ZeroK));
        assert_eq!(legacy_map(&q, &ql, &db, &dl, TopK::K(0)), Err(Error::ZeroK));
        let wide = codes(&["01010"]);
        let mismatch = Error::BitsMismatch { query_bits: 4, database_bits: 5 };
        assert_eq!(precision_at(&q, &ql, &wide, &[0], &[1]), Err(mismatch.clone()));
        assert_eq!(pr_curve(&q, &ql, &wide, &[0]).err(), Some(mismatch.clone()));
        assert_eq!(tie_aware_map(&q, &ql, &wide, &[0], &[TopK::All]), Err(mismatch.clone()));
        assert_eq!(legacy_map(&q, &ql, &wide, &[0], TopK::All), Err(mismatch));
        let empty = PackedCodes::from_bits(Array2::from_elem((0, 4), false).view());
        assert_eq!(precision_at(&empty, &[], &db, &dl, &[1]), Err(Error::EmptySet { set: "query set" }));
        assert_eq!(pr_curve(&q, &ql, &empty, &[]).err(), Some(Error::EmptySet { set: "database" }));
        assert_eq!(tie_aware_map(&q, &ql, &empty, &[], &[TopK::All]), Err(Error::EmptySet { set: "database" }));
        assert_eq!(legacy_map(&empty, &[], &db, &dl, TopK::All), Err(Error::EmptySet { set: "query set" }));
    }
}
