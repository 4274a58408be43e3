//! Where the CUDA backend computes the symmetric eigendecomposition: a setting, parsed once at
//! the edge (`--eigen-solver host|device|auto:N`, `eigen_solver = "…"` in a config) and handed
//! to [`crate::CudaBackend::with_eigen_policy`].

use crate::error::Error;

/// Where [`crate::CudaBackend`] computes the symmetric eigendecomposition
/// ([`hagcn_autodiff::Backend::symmetric_eigen`]).
///
/// The choice is by speed alone: both paths solve in f64 and pack with the same sign
/// convention, and the device path falls back to the host whenever it fails. The default is
/// [`EigenPolicy::Host`] until a GPU benchmark (the device against the host at n = 128, 1024 and
/// 4096, through [`crate::CudaBackend::symmetric_eigen_with`]) says from which size the device
/// is faster.
///
/// Its text form is `host`, `device` or `auto:N` ([`std::str::FromStr`] and
/// [`std::fmt::Display`]), and serde reads and writes that string.
///
/// ```
/// use hagcn_cuda::EigenPolicy;
///
/// let auto: EigenPolicy = "auto:512".parse()?;
/// assert_eq!(auto, EigenPolicy::Auto { min_device_n: 512 });
/// assert!(!auto.uses_device(128) && auto.uses_device(1024));
/// assert_eq!(auto.to_string(), "auto:512");
/// assert_eq!(EigenPolicy::default(), EigenPolicy::Host);
/// let err = "gpu".parse::<EigenPolicy>().unwrap_err();
/// assert_eq!(err.to_string(), r#"eigen solver "gpu": expected host, device or auto:<n> (the smallest order solved on the device)"#);
/// # Ok::<(), hagcn_cuda::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum EigenPolicy {
    /// Download, `hagcn_linalg::symmetric_eigen` (LAPACK `dsyevd` in f64), upload: the CPU
    /// backend's computation.
    #[default]
    Host,
    /// The device eigensolver (cuSOLVER `dsyevd` in f64) at every size.
    Device,
    /// The device for matrices of order `min_device_n` or more, the host below.
    Auto {
        /// The smallest order solved on the device.
        min_device_n: usize,
    },
}

impl EigenPolicy {
    /// Whether a matrix of order `n` is solved on the device.
    pub fn uses_device(self, n: usize) -> bool {
        match self {
            EigenPolicy::Host => false,
            EigenPolicy::Device => true,
            EigenPolicy::Auto { min_device_n } => n >= min_device_n,
        }
    }
}

impl std::str::FromStr for EigenPolicy {
    type Err = Error;

    /// `host`, `device` or `auto:<n>` (surrounding spaces ignored).
    fn from_str(s: &str) -> Result<EigenPolicy, Error> {
        let bad = || {
            Error::InvalidArgument(format!(
                "eigen solver {s:?}: expected host, device or auto:<n> (the smallest order solved on the device)"
            ))
        };
        match s.trim() {
            "host" => Ok(EigenPolicy::Host),
            "device" => Ok(EigenPolicy::Device),
            other => {
                let n = other.strip_prefix("auto:").ok_or_else(bad)?;
                Ok(EigenPolicy::Auto { min_device_n: n.trim().parse().map_err(|_| bad())? })
            }
        }
    }
}

impl std::fmt::Display for EigenPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EigenPolicy::Host => f.write_str("host"),
            EigenPolicy::Device => f.write_str("device"),
            EigenPolicy::Auto { min_device_n } => write!(f, "auto:{min_device_n}"),
        }
    }
}

impl TryFrom<String> for EigenPolicy {
    type Error = Error;

    fn try_from(s: String) -> Result<EigenPolicy, Error> {
        s.parse()
    }
}

impl From<EigenPolicy> for String {
    fn from(policy: EigenPolicy) -> String {
        policy.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print() {
        for (text, policy) in [
            ("host", EigenPolicy::Host),
            ("device", EigenPolicy::Device),
            ("auto:1024", EigenPolicy::Auto { min_device_n: 1024 }),
            (" auto: 7 ", EigenPolicy::Auto { min_device_n: 7 }),
        ] {
            assert_eq!(text.parse::<EigenPolicy>().unwrap(), policy, "{text}");
            assert_eq!(policy.to_string().parse::<EigenPolicy>().unwrap(), policy);
        }
        for text in ["", "gpu", "Host", "auto", "auto:", "auto:-1", "auto:x"] {
            let err = text.parse::<EigenPolicy>().unwrap_err().to_string();
            assert!(err.contains("expected host, device or auto:<n>") && !err.contains('\n'), "{err}");
        }
        assert_eq!(EigenPolicy::default(), EigenPolicy::Host);
    }

    #[test]
    fn auto_uses_the_device_from_its_threshold_on() {
        let auto = EigenPolicy::Auto { min_device_n: 256 };
        assert!(!auto.uses_device(255) && auto.uses_device(256) && auto.uses_device(4096));
        assert!(EigenPolicy::Device.uses_device(1) && !EigenPolicy::Host.uses_device(4096));
    }

    #[test]
    fn serde_goes_through_the_text_form() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Config {
            eigen_solver: EigenPolicy,
        }
        for (policy, json) in [
            (EigenPolicy::Host, r#"{"eigen_solver":"host"}"#),
            (EigenPolicy::Device, r#"{"eigen_solver":"device"}"#),
            (EigenPolicy::Auto { min_device_n: 1024 }, r#"{"eigen_solver":"auto:1024"}"#),
        ] {
            let config = Config { eigen_solver: policy };
            assert_eq!(serde_json::to_string(&config).unwrap(), json);
            assert_eq!(serde_json::from_str::<Config>(json).unwrap(), config);
        }
        let err = serde_json::from_str::<Config>(r#"{"eigen_solver":"cusolver"}"#).unwrap_err().to_string();
        assert!(err.contains(r#"eigen solver "cusolver": expected host, device or auto:<n>"#), "{err}");
        assert!(serde_json::from_str::<Config>(r#"{"eigen_solver":3}"#).is_err());
    }
}
