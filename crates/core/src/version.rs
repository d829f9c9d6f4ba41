//! Version numbering rules of the spec: semantic versions, release candidates, tags and branch names.
//!
//! Standard releases bump the minor version, patch and hotfix releases the patch version, major
//! releases the major version. Release candidates are `-rc.N`, counting up from 1. Tags carry a `v`
//! prefix; release branches are `release/vX.Y.Z`, hotfix branches `hotfix/vX.Y.Z-short-description`.

use semver::{Prerelease, Version};
use thiserror::Error;

use crate::release::ReleaseType;

/// Why a version could not be read or derived.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VersionError {
    /// The text is not a semantic version (`MAJOR.MINOR.PATCH`, optionally `v`-prefixed).
    #[error("`{input}` is not a semantic version like 1.2.3 or v1.2.3-rc.1: {reason}")]
    Unparsable {
        /// What was given.
        input: String,
        /// What the semver parser said.
        reason: String,
    },
    /// The pre-release part is not `rc.N`.
    #[error("`{0}` has a pre-release part that is not a release candidate (`-rc.N`)")]
    NotReleaseCandidate(Version),
    /// The proposed version does not come after the previous one.
    #[error(
        "version {proposed} does not move forward from {previous}: a new release needs a version greater than {previous}"
    )]
    NotForward {
        /// The latest version already released or planned.
        previous: Version,
        /// The version that was proposed.
        proposed: Version,
    },
}

/// Reads a version, accepting an optional `v` prefix (`v1.2.3` and `1.2.3` are the same).
pub fn parse_version(input: &str) -> Result<Version, VersionError> {
    let trimmed = input.trim();
    let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
    Version::parse(bare).map_err(|err| VersionError::Unparsable {
        input: input.to_string(),
        reason: err.to_string(),
    })
}

/// The next final version after `from` for a release of `release_type`.
///
/// A release candidate of a version is promoted to that version (`1.3.0-rc.2` -> `1.3.0`),
/// whatever the type: the candidate already carries the bump.
pub fn next_version(from: &Version, release_type: ReleaseType) -> Version {
    if !from.pre.is_empty() {
        return Version::new(from.major, from.minor, from.patch);
    }
    match release_type {
        ReleaseType::Major => Version::new(from.major + 1, 0, 0),
        ReleaseType::Standard => Version::new(from.major, from.minor + 1, 0),
        ReleaseType::Patch | ReleaseType::Hotfix => {
            Version::new(from.major, from.minor, from.patch + 1)
        }
    }
}

/// The number N of a release candidate `X.Y.Z-rc.N`, or `None` for a final version.
pub fn release_candidate_number(version: &Version) -> Result<Option<u32>, VersionError> {
    if version.pre.is_empty() {
        return Ok(None);
    }
    version
        .pre
        .as_str()
        .strip_prefix("rc.")
        .and_then(|n| n.parse::<u32>().ok())
        .map(Some)
        .ok_or_else(|| VersionError::NotReleaseCandidate(version.clone()))
}

/// The release candidate `N` of a final version: `1.3.0` and 2 give `1.3.0-rc.2`.
pub fn release_candidate(version: &Version, number: u32) -> Version {
    let mut candidate = Version::new(version.major, version.minor, version.patch);
    // "rc.N" with N >= 1 is always a valid pre-release identifier.
    candidate.pre = Prerelease::new(&format!("rc.{number}")).unwrap_or(Prerelease::EMPTY);
    candidate
}

/// The next release candidate after `from`.
///
/// From a candidate it counts up (`1.3.0-rc.1` -> `1.3.0-rc.2`); from a final version it starts the
/// candidates of the next version of `release_type` (`1.2.3`, standard -> `1.3.0-rc.1`).
pub fn next_release_candidate(
    from: &Version,
    release_type: ReleaseType,
) -> Result<Version, VersionError> {
    match release_candidate_number(from)? {
        Some(n) => Ok(release_candidate(from, n + 1)),
        None => Ok(release_candidate(&next_version(from, release_type), 1)),
    }
}

/// Refuses a proposed version that is not greater than the previous one.
pub fn ensure_forward(previous: &Version, proposed: &Version) -> Result<(), VersionError> {
    if proposed > previous {
        return Ok(());
    }
    Err(VersionError::NotForward {
        previous: previous.clone(),
        proposed: proposed.clone(),
    })
}

/// The git tag of a version: `v1.2.3`, `v1.2.3-rc.1`.
pub fn tag_name(version: &Version) -> String {
    format!("v{version}")
}

/// The release branch of a version: `release/v1.2.3` (pre-release parts are dropped).
pub fn release_branch(version: &Version) -> String {
    format!(
        "release/v{}.{}.{}",
        version.major, version.minor, version.patch
    )
}

/// The hotfix branch of a version: `hotfix/v1.2.4-critical-score-fix`.
pub fn hotfix_branch(version: &Version, description: &str) -> String {
    let base = format!(
        "hotfix/v{}.{}.{}",
        version.major, version.minor, version.patch
    );
    let slug = slug(description);
    if slug.is_empty() {
        base
    } else {
        format!("{base}-{slug}")
    }
}

/// Longest slug kept in a branch name, in characters.
const SLUG_MAX: usize = 48;

/// A branch-safe slug: lowercase ASCII letters and digits joined by single hyphens.
///
/// Letters with accents lose them where ASCII has a plain equivalent; anything else separates words.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for ch in text.chars().flat_map(fold_to_ascii) {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut slug: String = out.chars().take(SLUG_MAX).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// Maps common Latin letters with diacritics to their ASCII base letter.
fn fold_to_ascii(ch: char) -> Option<char> {
    let folded = match ch {
        'à'..='å' | 'À'..='Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è'..='ë' | 'È'..='Ë' => 'e',
        'ì'..='ï' | 'Ì'..='Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò'..='ö' | 'Ò'..='Ö' | 'ø' | 'Ø' => 'o',
        'ù'..='ü' | 'Ù'..='Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        other => other,
    };
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        parse_version(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn standard_release_bumps_minor() {
        assert_eq!(next_version(&v("1.2.3"), ReleaseType::Standard), v("1.3.0"));
    }

    #[test]
    fn patch_and_hotfix_bump_patch() {
        assert_eq!(next_version(&v("1.2.3"), ReleaseType::Patch), v("1.2.4"));
        assert_eq!(next_version(&v("1.2.3"), ReleaseType::Hotfix), v("1.2.4"));
    }

    #[test]
    fn major_release_bumps_major() {
        assert_eq!(next_version(&v("1.2.3"), ReleaseType::Major), v("2.0.0"));
    }

    #[test]
    fn release_candidates_count_up_from_one() {
        let rc1 = next_release_candidate(&v("1.2.3"), ReleaseType::Standard);
        assert_eq!(rc1, Ok(v("1.3.0-rc.1")));
        let rc2 = next_release_candidate(&v("1.3.0-rc.1"), ReleaseType::Standard);
        assert_eq!(rc2, Ok(v("1.3.0-rc.2")));
        assert_eq!(
            next_release_candidate(&v("1.3.0-rc.9"), ReleaseType::Major),
            Ok(v("1.3.0-rc.10"))
        );
    }

    #[test]
    fn release_candidate_is_promoted_to_its_final_version() {
        assert_eq!(
            next_version(&v("1.3.0-rc.2"), ReleaseType::Standard),
            v("1.3.0")
        );
    }

    #[test]
    fn other_prereleases_are_not_release_candidates() {
        assert!(matches!(
            next_release_candidate(&v("1.3.0-beta.1"), ReleaseType::Standard),
            Err(VersionError::NotReleaseCandidate(_))
        ));
    }

    #[test]
    fn v_prefix_is_accepted_and_printed_on_tags() {
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(tag_name(&v("1.2.3-rc.1")), "v1.2.3-rc.1");
    }

    #[test]
    fn garbage_is_refused_with_the_input_named() {
        let err = parse_version("one.two").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("`one.two`")));
    }

    #[test]
    fn release_and_hotfix_branch_names() {
        assert_eq!(release_branch(&v("1.2.3-rc.4")), "release/v1.2.3");
        assert_eq!(
            hotfix_branch(&v("1.2.4"), "Critical score fix!"),
            "hotfix/v1.2.4-critical-score-fix"
        );
        assert_eq!(
            hotfix_branch(&v("1.2.4"), "Élève: scores perdus"),
            "hotfix/v1.2.4-eleve-scores-perdus"
        );
        assert_eq!(hotfix_branch(&v("1.2.4"), "!!!"), "hotfix/v1.2.4");
    }

    #[test]
    fn version_that_does_not_move_forward_is_refused() {
        assert!(ensure_forward(&v("1.2.3"), &v("1.2.4")).is_ok());
        assert!(ensure_forward(&v("1.2.3"), &v("1.2.3")).is_err());
        assert!(ensure_forward(&v("1.2.3"), &v("1.2.2")).is_err());
        assert!(ensure_forward(&v("1.3.0"), &v("1.3.0-rc.1")).is_err());
    }

    proptest! {
        #[test]
        fn next_version_always_moves_forward(
            major in 0u64..1000, minor in 0u64..1000, patch in 0u64..1000, kind in 0usize..4
        ) {
            let from = Version::new(major, minor, patch);
            let kind = [ReleaseType::Standard, ReleaseType::Patch, ReleaseType::Hotfix, ReleaseType::Major][kind];
            let next = next_version(&from, kind);
            prop_assert!(ensure_forward(&from, &next).is_ok());
            let rc = next_release_candidate(&from, kind);
            prop_assert!(rc.as_ref().is_ok_and(|rc| rc > &from && rc < &next));
        }

        #[test]
        fn slugs_are_branch_safe(text in "\\PC{0,80}") {
            let s = slug(&text);
            prop_assert!(s.len() <= SLUG_MAX);
            prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"));
        }
    }
}
