//! Argon2id parameters and the bounds on them.
//!
//! A wallet header and a backup file name the Argon2id parameters they were sealed
//! under, and the wallet must run Argon2id with them before the AEAD tag can tell
//! whether the file is genuine. Those parameters are untrusted input: a crafted
//! file could ask for gigabytes of memory and dozens of passes. So they are checked
//! twice before any work is done:
//!
//! 1. against the format's range ([`KdfParams::MINIMUM`] ..= [`KdfParams::MAXIMUM`]):
//!    anything outside is not a file this wallet writes ([`StoreError::InvalidKdfParams`]);
//! 2. against a ceiling, [`KdfLimits`], by default [`MAX_KDF_MEMORY_KIB`],
//!    [`MAX_KDF_PASSES`] and [`MAX_KDF_PARALLELISM`]: a file above it is refused
//!    ([`StoreError::KdfAboveCeiling`]) unless the caller opts in with
//!    [`KdfLimits::FORMAT_MAXIMUM`] (the CLI's `--allow-expensive-kdf`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// Most Argon2id memory, in KiB, a wallet header or backup may demand by default:
/// 1 GiB, sixteen times the default. Above it, [`KdfLimits::FORMAT_MAXIMUM`] is
/// needed.
pub const MAX_KDF_MEMORY_KIB: u32 = 1024 * 1024;
/// Most Argon2id passes a wallet header or backup may demand by default: 16, over
/// five times the default.
pub const MAX_KDF_PASSES: u32 = 16;
/// Most Argon2id lanes a wallet header or backup may demand by default: 8. The
/// wallet itself writes 1.
pub const MAX_KDF_PARALLELISM: u32 = 8;

/// Argon2id parameters, stored in the wallet header so a wallet opens with the
/// parameters it was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: RFC 9106's second recommended option, sized for
    /// a machine that opens one wallet at a time (≈ 0.2–0.5 s per open).
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// The weakest parameters accepted: for tests and constrained machines only.
    pub const MINIMUM: KdfParams = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    /// The largest parameters the format admits (4 GiB, 64 passes, 16 lanes), each
    /// on its own. Files are further bounded by a [`KdfLimits`] when they are read.
    pub const MAXIMUM: KdfParams = KdfParams {
        memory_kib: 4 * 1024 * 1024,
        iterations: 64,
        parallelism: 16,
    };

    /// Refuses parameters below [`KdfParams::MINIMUM`] or above
    /// [`KdfParams::MAXIMUM`].
    ///
    /// # Errors
    /// [`StoreError::InvalidKdfParams`].
    pub fn check(&self) -> Result<(), StoreError> {
        let (min, max) = (Self::MINIMUM, Self::MAXIMUM);
        let within = |value: u32, min: u32, max: u32| (min..=max).contains(&value);
        if within(self.memory_kib, min.memory_kib, max.memory_kib)
            && within(self.iterations, min.iterations, max.iterations)
            && within(self.parallelism, min.parallelism, max.parallelism)
        {
            Ok(())
        } else {
            Err(StoreError::InvalidKdfParams(format!(
                "memory {} KiB ({}..={}), iterations {} ({}..={}), parallelism {} ({}..={})",
                self.memory_kib,
                min.memory_kib,
                max.memory_kib,
                self.iterations,
                min.iterations,
                max.iterations,
                self.parallelism,
                min.parallelism,
                max.parallelism
            )))
        }
    }
}

/// One Argon2id parameter, as named in [`StoreError::KdfAboveCeiling`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KdfParameter {
    /// Memory, in KiB (`m_cost`).
    Memory,
    /// Passes over memory (`t_cost`).
    Passes,
    /// Lanes (`p_cost`).
    Parallelism,
}

/// Where Argon2id parameters come from, as named in [`StoreError::KdfAboveCeiling`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KdfOrigin {
    /// A wallet header being opened.
    WalletHeader,
    /// A backup being imported.
    Backup,
    /// Parameters a caller asks to seal something new under (checked by a caller
    /// that wants what it writes to open within the same limits).
    Requested,
}

impl fmt::Display for KdfOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KdfOrigin::WalletHeader => "wallet header",
            KdfOrigin::Backup => "backup",
            KdfOrigin::Requested => "the requested key derivation",
        })
    }
}

/// The message of [`StoreError::KdfAboveCeiling`]: which parameter, how much was
/// asked, and the ceiling, in the parameter's unit.
pub(crate) fn ceiling_message(
    origin: KdfOrigin,
    parameter: KdfParameter,
    requested: u32,
    ceiling: u32,
) -> String {
    match parameter {
        KdfParameter::Memory => format!(
            "{origin} asks for {requested} KiB of Argon2id memory, above the {ceiling} KiB ceiling"
        ),
        KdfParameter::Passes => format!(
            "{origin} asks for {requested} Argon2id passes, above the {ceiling}-pass ceiling"
        ),
        KdfParameter::Parallelism => format!(
            "{origin} asks for {requested} Argon2id lanes, above the {ceiling}-lane ceiling"
        ),
    }
}

/// The most Argon2id work the wallet agrees to do for a file before it knows the
/// file is genuine.
///
/// The default, [`KdfLimits::DEFAULT`], is [`MAX_KDF_MEMORY_KIB`],
/// [`MAX_KDF_PASSES`] and [`MAX_KDF_PARALLELISM`]. [`KdfLimits::FORMAT_MAXIMUM`]
/// lifts the ceiling to what the format admits, for files the caller trusts.
/// Limits never admit parameters outside the format's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfLimits {
    /// The largest value accepted for each parameter (never above
    /// [`KdfParams::MAXIMUM`]).
    ceiling: KdfParams,
}

impl Default for KdfLimits {
    fn default() -> Self {
        KdfLimits::DEFAULT
    }
}

impl KdfLimits {
    /// The default ceiling: 1 GiB of memory, 16 passes, 8 lanes.
    pub const DEFAULT: KdfLimits = KdfLimits {
        ceiling: KdfParams {
            memory_kib: MAX_KDF_MEMORY_KIB,
            iterations: MAX_KDF_PASSES,
            parallelism: MAX_KDF_PARALLELISM,
        },
    };

    /// No ceiling beyond the format's own ([`KdfParams::MAXIMUM`]): only for files
    /// the caller trusts, since a crafted one can then cost minutes of work and
    /// gigabytes of memory before it is found out.
    pub const FORMAT_MAXIMUM: KdfLimits = KdfLimits {
        ceiling: KdfParams::MAXIMUM,
    };

    /// Limits of `ceiling` for each parameter, lowered to the format's maximum
    /// where they exceed it.
    pub fn up_to(ceiling: KdfParams) -> Self {
        let max = KdfParams::MAXIMUM;
        KdfLimits {
            ceiling: KdfParams {
                memory_kib: ceiling.memory_kib.min(max.memory_kib),
                iterations: ceiling.iterations.min(max.iterations),
                parallelism: ceiling.parallelism.min(max.parallelism),
            },
        }
    }

    /// The largest value accepted for each parameter.
    pub fn ceiling(&self) -> KdfParams {
        self.ceiling
    }

    /// Checks parameters read from `origin` before any Argon2id work is done on
    /// them: first the format's range, then these limits.
    ///
    /// # Errors
    /// [`StoreError::InvalidKdfParams`] outside the format's range,
    /// [`StoreError::KdfAboveCeiling`] naming the first parameter above these
    /// limits (memory, then passes, then lanes).
    pub fn check(&self, params: &KdfParams, origin: KdfOrigin) -> Result<(), StoreError> {
        params.check()?;
        for (parameter, requested, ceiling) in [
            (
                KdfParameter::Memory,
                params.memory_kib,
                self.ceiling.memory_kib,
            ),
            (
                KdfParameter::Passes,
                params.iterations,
                self.ceiling.iterations,
            ),
            (
                KdfParameter::Parallelism,
                params.parallelism,
                self.ceiling.parallelism,
            ),
        ] {
            if requested > ceiling {
                return Err(StoreError::KdfAboveCeiling {
                    origin,
                    parameter,
                    requested,
                    ceiling,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT_THE_CEILING: KdfParams = KdfParams {
        memory_kib: MAX_KDF_MEMORY_KIB,
        iterations: MAX_KDF_PASSES,
        parallelism: MAX_KDF_PARALLELISM,
    };

    fn refused_parameter(limits: &KdfLimits, params: KdfParams) -> Option<KdfParameter> {
        match limits.check(&params, KdfOrigin::WalletHeader) {
            Ok(()) => None,
            Err(StoreError::KdfAboveCeiling { parameter, .. }) => Some(parameter),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn kdf_ceiling_is_one_gib_sixteen_passes_eight_lanes() {
        assert_eq!(MAX_KDF_MEMORY_KIB, 1_048_576);
        assert_eq!(MAX_KDF_PASSES, 16);
        assert_eq!(MAX_KDF_PARALLELISM, 8);
        assert_eq!(KdfLimits::default(), KdfLimits::DEFAULT);
        assert_eq!(KdfLimits::DEFAULT.ceiling(), AT_THE_CEILING);
        // The default parameters, and the floor, are well within it.
        assert_eq!(
            refused_parameter(&KdfLimits::DEFAULT, KdfParams::default()),
            None
        );
        assert_eq!(
            refused_parameter(&KdfLimits::DEFAULT, KdfParams::MINIMUM),
            None
        );
    }

    #[test]
    fn kdf_parameters_at_the_ceiling_are_accepted() {
        assert_eq!(refused_parameter(&KdfLimits::DEFAULT, AT_THE_CEILING), None);
    }

    #[test]
    fn kdf_parameters_one_past_the_ceiling_are_refused_naming_the_parameter() {
        let limits = KdfLimits::DEFAULT;
        let memory = KdfParams {
            memory_kib: MAX_KDF_MEMORY_KIB + 1,
            ..AT_THE_CEILING
        };
        let passes = KdfParams {
            iterations: MAX_KDF_PASSES + 1,
            ..AT_THE_CEILING
        };
        let lanes = KdfParams {
            parallelism: MAX_KDF_PARALLELISM + 1,
            ..AT_THE_CEILING
        };
        assert_eq!(
            refused_parameter(&limits, memory),
            Some(KdfParameter::Memory)
        );
        assert_eq!(
            refused_parameter(&limits, passes),
            Some(KdfParameter::Passes)
        );
        assert_eq!(
            refused_parameter(&limits, lanes),
            Some(KdfParameter::Parallelism)
        );
    }

    #[test]
    fn kdf_ceiling_error_says_which_parameter_and_both_values() {
        let header = KdfParams {
            memory_kib: 4 * 1024 * 1024,
            iterations: 64,
            parallelism: 1,
        };
        let error = KdfLimits::DEFAULT
            .check(&header, KdfOrigin::WalletHeader)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "wallet header asks for 4194304 KiB of Argon2id memory, above the 1048576 KiB ceiling"
        );
        let error = KdfLimits::DEFAULT
            .check(
                &KdfParams {
                    iterations: 64,
                    ..KdfParams::MINIMUM
                },
                KdfOrigin::Backup,
            )
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "backup asks for 64 Argon2id passes, above the 16-pass ceiling"
        );
        let error = KdfLimits::DEFAULT
            .check(
                &KdfParams {
                    parallelism: 16,
                    ..KdfParams::MINIMUM
                },
                KdfOrigin::Requested,
            )
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the requested key derivation asks for 16 Argon2id lanes, above the 8-lane ceiling"
        );
    }

    #[test]
    fn kdf_opt_in_lifts_the_ceiling_to_the_format_maximum_and_no_further() {
        let limits = KdfLimits::FORMAT_MAXIMUM;
        assert_eq!(refused_parameter(&limits, KdfParams::MAXIMUM), None);
        assert_eq!(
            refused_parameter(
                &limits,
                KdfParams {
                    memory_kib: MAX_KDF_MEMORY_KIB + 1,
                    iterations: MAX_KDF_PASSES + 1,
                    parallelism: MAX_KDF_PARALLELISM + 1,
                }
            ),
            None
        );
        // Past the format's own maximum, no limits help: not a file we write.
        for beyond in [
            KdfParams {
                memory_kib: KdfParams::MAXIMUM.memory_kib + 1,
                ..KdfParams::MINIMUM
            },
            KdfParams {
                iterations: KdfParams::MAXIMUM.iterations + 1,
                ..KdfParams::MINIMUM
            },
            KdfParams {
                parallelism: KdfParams::MAXIMUM.parallelism + 1,
                ..KdfParams::MINIMUM
            },
        ] {
            assert!(matches!(
                limits.check(&beyond, KdfOrigin::WalletHeader),
                Err(StoreError::InvalidKdfParams(_))
            ));
        }
        assert_eq!(
            KdfLimits::up_to(KdfParams {
                memory_kib: u32::MAX,
                iterations: u32::MAX,
                parallelism: u32::MAX,
            }),
            KdfLimits::FORMAT_MAXIMUM
        );
    }

    #[test]
    fn kdf_floor_is_checked_before_the_ceiling() {
        for below in [
            KdfParams {
                memory_kib: KdfParams::MINIMUM.memory_kib - 1,
                ..KdfParams::MINIMUM
            },
            KdfParams {
                iterations: 0,
                ..KdfParams::MINIMUM
            },
            KdfParams {
                parallelism: 0,
                ..KdfParams::MINIMUM
            },
        ] {
            assert!(matches!(
                KdfLimits::DEFAULT.check(&below, KdfOrigin::Backup),
                Err(StoreError::InvalidKdfParams(_))
            ));
        }
        assert_eq!(
            refused_parameter(&KdfLimits::DEFAULT, KdfParams::MINIMUM),
            None
        );
    }

    #[test]
    fn lowered_limits_refuse_what_the_default_accepts() {
        let tight = KdfLimits::up_to(KdfParams::MINIMUM);
        assert_eq!(
            refused_parameter(&tight, KdfParams::default()),
            Some(KdfParameter::Memory)
        );
        assert_eq!(refused_parameter(&tight, KdfParams::MINIMUM), None);
    }
}
