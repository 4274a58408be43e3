//! Helpers shared by the CLI tests: run the `hagcn` binary, train a small checkpoint.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hagcn_data::Dataset;

/// Runs `hagcn` with `args`.
pub fn hagcn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hagcn")).args(args).output().expect("hagcn runs")
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts that the command succeeded, showing its standard error if not.
pub fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Asserts that the command failed with one line `error: …` on standard error containing
/// every needle (no panic, no allocation failure, no backtrace) and returns that line.
pub fn one_line_error(o: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "exit status 1 expected: {err}");
    assert!(err.starts_with("error: ") && err.trim_end().lines().count() == 1, "one line: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    err
}

/// Saves `data` as `<tmp>/data` and trains `<tmp>/ck.npz` on it with `hagcn train` and `flags`.
pub fn train_on(tmp: &Path, data: &Dataset, flags: &[&str]) -> (PathBuf, PathBuf) {
    let (dir, ck) = (tmp.join("data"), tmp.join("ck.npz"));
    data.save(&dir).unwrap();
    let mut args = vec!["train", "--dataset", s(&dir), "--out", s(&ck)];
    args.extend_from_slice(flags);
    ok(&hagcn(&args));
    (dir, ck)
}
