//! How failures become Python exceptions: bad input or settings raise `ValueError` with
//! the message the CLI prints for the same mistake, files `OSError` (`FileNotFoundError`,
//! `FileExistsError`), a diverging loss `FloatingPointError`, numerical failures
//! `RuntimeError`, and Ctrl-C the `KeyboardInterrupt` Python raised.

use pyo3::PyErr;
use pyo3::exceptions::{PyFloatingPointError, PyOSError, PyRuntimeError, PyValueError};

/// A failure inside the package, on its way to Python.
#[derive(Debug)]
pub enum Failure {
    /// An exception Python raised (`KeyboardInterrupt` from a signal handler).
    Python(PyErr),
    /// A model, training or checkpoint error.
    Model(hagcn_model::Error),
    /// A codes, search or evaluation error.
    Eval(hagcn_eval::Error),
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

impl From<hagcn_model::Error> for Failure {
    fn from(e: hagcn_model::Error) -> Self {
        Failure::Model(e)
    }
}

impl From<hagcn_eval::Error> for Failure {
    fn from(e: hagcn_eval::Error) -> Self {
        Failure::Eval(e)
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        use hagcn_model::Error as M;
        match f {
            Failure::Python(e) => e,
            Failure::Eval(e) => PyValueError::new_err(e.to_string()),
            Failure::Model(e) => match e {
                M::Checkpoint { .. } => PyOSError::new_err(e.to_string()),
                M::NonFiniteLoss { .. } => PyFloatingPointError::new_err(e.to_string()),
                M::Autodiff(_) | M::Linalg(_) => PyRuntimeError::new_err(e.to_string()),
                _ => PyValueError::new_err(e.to_string()),
            },
        }
    }
}

/// A `ValueError` with `message`.
pub fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}
