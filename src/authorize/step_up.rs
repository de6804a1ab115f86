//! Step-up authentication (RFC 9470): requirements on the authentication event behind a token,
//! read from its `acr` and `auth_time` claims.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::error::{ConfigError, StepUp};
use crate::principal::Authenticated;
use crate::syntax::is_quoted_safe;

/// A step-up requirement being built: start it with
/// [`Requirement::step_up`](crate::Requirement::step_up), name the accepted `acr` values, the
/// longest time since the user authenticated, or both, then [`build`](Self::build) it.
///
/// ```
/// use std::time::Duration;
/// use scopegate::{Requirement, scope};
///
/// // Deleting a room needs its admin scope, and a second factor used in the last five minutes.
/// let delete_room = Requirement::all_of([
///     scope!("admin:rooms-in-{room}"),
///     Requirement::step_up()
///         .acr_values(["urn:rooms:mfa"])
///         .max_age(Duration::from_secs(300))
///         .build()?,
/// ]);
/// assert_eq!(
///     delete_room.to_string(),
///     r#"all_of(admin:rooms-in-{room}, step_up(acr_values="urn:rooms:mfa", max_age=300))"#,
/// );
/// # Ok::<(), scopegate::ConfigError>(())
/// ```
///
/// The claims are read like every claim check's, and a repeated claim counts as absent:
///
/// - `acr` must be a JSON string equal, byte for byte, to one of the accepted values. Absent,
///   another type (an array, a number) or repeated: never holds.
/// - `auth_time` must be a JSON number of seconds since the epoch (RFC 7519 NumericDate). A
///   fractional one counts as the whole second before it (the older reading). Absent, another
///   type (a string of digits too) or repeated: never holds. Checked against the validator's
///   clock ([`ValidatorBuilder::clock`](crate::ValidatorBuilder::clock); with several issuers,
///   the first one's clock and leeway): `now - auth_time <= max_age` holds, so exactly
///   `max_age` seconds ago still holds and one second more does not (no leeway on the age).
///   An `auth_time` ahead of now by at most the validator's leeway (clock skew) counts as
///   fresh; further ahead it never holds: no token records an authentication yet to happen.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct StepUpRequirement {
    acr_values: Option<Vec<String>>,
    max_age: Option<Duration>,
}

impl StepUpRequirement {
    /// The token's `acr` claim must be a JSON string equal (byte for byte) to one of `values`.
    /// They are named in the challenge's `acr_values`, in this order (RFC 9470 §3: order of
    /// preference). Called again, it adds values. Each must be non-empty printable ASCII without
    /// spaces, `"` or `\`; [`build`](Self::build) refuses anything else, and an empty list.
    pub fn acr_values(mut self, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.acr_values
            .get_or_insert_with(Vec::new)
            .extend(values.into_iter().map(Into::into));
        self
    }

    /// The user must have authenticated at most `max_age` ago: the token's `auth_time` claim
    /// must be a NumericDate with `now - auth_time <= max_age`, now read from the validator's
    /// clock. Whole seconds only, as the challenge's `max_age` is.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The checked configuration: [`build`](Self::build) makes it a requirement.
    pub(super) fn checked(self) -> Result<Authentication, ConfigError> {
        let acr_values = match self.acr_values {
            None => None,
            Some(values) if values.is_empty() => {
                return Err(ConfigError::new("step_up: acr_values was given no values"));
            }
            Some(values) => {
                let mut unique: Vec<Box<str>> = Vec::with_capacity(values.len());
                for value in values {
                    if !is_acr_value(&value) {
                        return Err(ConfigError::new(format!(
                            "step_up: the acr value {value:?} must be non-empty printable ASCII \
                             without spaces, quotes or backslashes"
                        )));
                    }
                    if !unique.iter().any(|seen| **seen == *value) {
                        unique.push(value.into());
                    }
                }
                Some(unique.into_boxed_slice())
            }
        };
        let max_age = match self.max_age {
            None => None,
            Some(max_age) if max_age.subsec_nanos() != 0 => {
                return Err(ConfigError::new(
                    "step_up: max_age must be whole seconds (the challenge names seconds)",
                ));
            }
            Some(max_age) => Some(
                i64::try_from(max_age.as_secs())
                    .map_err(|_| ConfigError::new("step_up: max_age is too large"))?,
            ),
        };
        if acr_values.is_none() && max_age.is_none() {
            return Err(ConfigError::new(
                "step_up needs acr_values, max_age or both",
            ));
        }
        let challenge = Arc::new(StepUp {
            acr_values: acr_values.as_deref().map(|values| values.join(" ").into()),
            max_age: max_age.and_then(|seconds| u64::try_from(seconds).ok()),
        });
        Ok(Authentication {
            acr_values,
            max_age,
            challenge,
        })
    }
}

/// An `acr` value that can stand in the space-separated, quoted `acr_values` attribute.
fn is_acr_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|byte| byte != b' ' && is_quoted_safe(byte))
}

/// The instant a requirement is decided at, in seconds since the epoch, and how far in the
/// future an `auth_time` may lie (the validator's leeway, for clock skew between the
/// authorization server and the API).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) seconds: i64,
    pub(crate) leeway: i64,
}

impl Now {
    /// For a requirement that never reads the clock: the end of time, at which any `max_age`
    /// has passed, so that a step-up mistakenly decided at it is refused, not let through.
    pub(crate) const NOT_READ: Now = Now {
        seconds: i64::MAX,
        leeway: 0,
    };
}

/// A checked step-up requirement.
pub(crate) struct Authentication {
    acr_values: Option<Box<[Box<str>]>>,
    /// Seconds, never negative.
    max_age: Option<i64>,
    /// The challenge attributes, rendered once.
    challenge: Arc<StepUp>,
}

impl Authentication {
    /// The accepted `acr` values, in order of preference; `None` when any `acr` will do.
    #[cfg_attr(not(feature = "utoipa"), allow(dead_code))]
    pub(crate) fn acr_values(&self) -> Option<&[Box<str>]> {
        self.acr_values.as_deref()
    }

    /// The longest time since the user authenticated, in seconds; `None` when any will do.
    #[cfg_attr(not(feature = "utoipa"), allow(dead_code))]
    pub(crate) fn max_age(&self) -> Option<u64> {
        self.challenge.max_age
    }

    /// Whether the token's authentication event meets the requirement at `now`.
    ///
    /// `acr`: a JSON string equal to an accepted value; any other type, absence or a repeated
    /// claim never holds. `auth_time`: a JSON number of seconds (a fractional one counts as the
    /// whole second before it, the older reading), at most `leeway` seconds in the future, and
    /// at most `max_age` seconds in the past (exactly `max_age` holds; no leeway on the age).
    pub(super) fn holds(&self, auth: &Authenticated, now: Now) -> bool {
        let acr_holds = self.acr_values.as_deref().is_none_or(|accepted| {
            auth.claim::<String>("acr")
                .is_some_and(|acr| accepted.iter().any(|value| **value == *acr))
        });
        let age_holds = self.max_age.is_none_or(|max_age| {
            auth.claim::<Value>("auth_time")
                .as_ref()
                .and_then(numeric_date)
                .is_some_and(|auth_time| {
                    auth_time <= now.seconds.saturating_add(now.leeway)
                        && now.seconds.saturating_sub(auth_time) <= max_age
                })
        });
        acr_holds && age_holds
    }
}

/// A NumericDate (RFC 7519 §2) as whole seconds, rounded down; `None` for anything but a JSON
/// number, or a number beyond the range of `i64`.
fn numeric_date(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else {
        return None;
    };
    if let Some(seconds) = number.as_i64() {
        return Some(seconds);
    }
    if !number.is_f64() {
        // An integer above i64::MAX.
        return None;
    }
    let seconds = number.as_f64()?.floor();
    // `i64::MAX as f64` rounds up to 2^63, itself out of range: hence the strict `<`.
    (seconds.is_finite() && seconds >= i64::MIN as f64 && seconds < i64::MAX as f64)
        .then_some(seconds as i64)
}

/// The challenge for the step-up requirements a refusal rests on. One: its own attributes.
/// Several (an `all_of` of step-up requirements): the `acr` values every one of them accepts,
/// in the first one's order (the first one's values if none is shared: no authentication
/// can meet such a requirement), and the smallest `max_age`.
pub(super) fn challenge(demands: &[&Authentication]) -> Arc<StepUp> {
    if let [one] = demands {
        return one.challenge.clone();
    }
    let mut acr_values: Option<Vec<&str>> = None;
    let mut max_age: Option<i64> = None;
    for demand in demands {
        if let Some(accepted) = &demand.acr_values {
            acr_values = Some(match acr_values {
                None => accepted.iter().map(|value| &**value).collect(),
                Some(kept) => {
                    let shared: Vec<&str> = kept
                        .iter()
                        .copied()
                        .filter(|value| accepted.iter().any(|other| **other == **value))
                        .collect();
                    if shared.is_empty() { kept } else { shared }
                }
            });
        }
        if let Some(age) = demand.max_age {
            max_age = Some(max_age.map_or(age, |kept| kept.min(age)));
        }
    }
    Arc::new(StepUp {
        acr_values: acr_values.map(|values| values.join(" ").into()),
        max_age: max_age.and_then(|seconds| u64::try_from(seconds).ok()),
    })
}

impl fmt::Display for Authentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("step_up(")?;
        if let Some(acr_values) = &self.challenge.acr_values {
            write!(f, "acr_values=\"{acr_values}\"")?;
            if self.max_age.is_some() {
                f.write_str(", ")?;
            }
        }
        if let Some(max_age) = self.max_age {
            write!(f, "max_age={max_age}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::Requirement;

    fn built(step_up: StepUpRequirement) -> Result<String, ConfigError> {
        step_up.build().map(|requirement| requirement.to_string())
    }

    #[test]
    fn configuration_rules() {
        let mfa = || Requirement::step_up().acr_values(["urn:rooms:mfa"]);
        assert!(built(Requirement::step_up()).is_err());
        assert!(built(Requirement::step_up().acr_values(Vec::<String>::new())).is_err());
        for bad in [
            "",
            "two words",
            "quo\"te",
            "back\\slash",
            "caf\u{e9}",
            "tab\t",
        ] {
            assert!(
                built(Requirement::step_up().acr_values([bad])).is_err(),
                "{bad:?}"
            );
        }
        assert!(built(mfa().max_age(Duration::from_millis(1500))).is_err());
        assert!(built(mfa().max_age(Duration::from_secs(u64::MAX))).is_err());
        assert_eq!(
            built(mfa().acr_values(["urn:rooms:mfa", "urn:rooms:hwk"])).unwrap(),
            r#"step_up(acr_values="urn:rooms:mfa urn:rooms:hwk")"#
        );
        assert_eq!(
            built(Requirement::step_up().max_age(Duration::ZERO)).unwrap(),
            "step_up(max_age=0)"
        );
    }

    #[test]
    fn numeric_dates() {
        let date = |json: &str| numeric_date(&serde_json::from_str(json).unwrap());
        assert_eq!(date("1700000000"), Some(1_700_000_000));
        assert_eq!(date("1700000000.9"), Some(1_700_000_000));
        assert_eq!(date("-1.5"), Some(-2));
        assert_eq!(date("1e30"), None);
        assert_eq!(date("18446744073709551615"), None);
        assert_eq!(date("\"1700000000\""), None);
        assert_eq!(date("null"), None);
        assert_eq!(date("[1700000000]"), None);
    }

    fn demand(acr: &[&str], max_age: Option<u64>) -> Authentication {
        let mut step_up = Requirement::step_up();
        if !acr.is_empty() {
            step_up = step_up.acr_values(acr.iter().copied());
        }
        if let Some(seconds) = max_age {
            step_up = step_up.max_age(Duration::from_secs(seconds));
        }
        step_up.checked().unwrap()
    }

    #[test]
    fn merged_challenges() {
        let mfa = demand(&["mfa", "hwk"], Some(600));
        let hwk = demand(&["hwk", "mfa"], None);
        let recent = demand(&[], Some(300));
        let other = demand(&["pwd"], None);
        let merged = challenge(&[&mfa, &hwk, &recent]);
        assert_eq!(merged.acr_values.as_deref(), Some("mfa hwk"));
        assert_eq!(merged.max_age, Some(300));
        let disjoint = challenge(&[&mfa, &other]);
        assert_eq!(disjoint.acr_values.as_deref(), Some("mfa hwk"));
        assert_eq!(disjoint.max_age, Some(600));
        assert!(Arc::ptr_eq(&challenge(&[&recent]), &recent.challenge));
    }
}
