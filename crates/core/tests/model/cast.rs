//! The people who act in generated sequences: each role held by one or two people, someone
//! holding two roles (so "distinct people" matters), someone with no role, and Greenlight itself.
//!
//! The oracle reads who holds which role from this table, never from the core's permission table.

use std::fmt;

use greenlight_core::{Actor, Role};

/// An index into [`CAST`]; its `Debug` is the person's name, so shrunk sequences read well.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Who(pub u8);

/// Name, roles, and whether it is Greenlight's own system actor.
pub const CAST: [(&str, &[Role], bool); 9] = [
    ("erin", &[Role::EngineeringLead], false),
    ("eli", &[Role::EngineeringLead], false),
    ("quinn", &[Role::QaLead], false),
    ("pat", &[Role::ProductOwner], false),
    ("omar", &[Role::OnCallEngineer], false),
    ("sam", &[Role::SystemAdmin], false),
    ("nobody", &[], false),
    ("max", &[Role::EngineeringLead, Role::QaLead], false),
    ("greenlight", &[], true),
];

impl Who {
    /// The person's name (their user ID).
    pub fn name(self) -> &'static str {
        CAST[usize::from(self.0) % CAST.len()].0
    }

    /// The core's actor for this person.
    pub fn actor(self) -> Actor {
        let (name, roles, system) = CAST[usize::from(self.0) % CAST.len()];
        if system {
            Actor::system()
        } else {
            Actor::user(name, roles.iter().copied())
        }
    }

    /// Everyone in the cast.
    pub fn all() -> impl Iterator<Item = Who> {
        (0..CAST.len()).map(|i| Who(i as u8))
    }

    /// The people holding `role`.
    pub fn holding(role: Role) -> Vec<Who> {
        Who::all().filter(|w| holds(w.name(), role)).collect()
    }
}

/// Whether the person with user ID `name` holds `role`, by the cast's table.
pub fn holds(name: &str, role: Role) -> bool {
    CAST.iter()
        .any(|(n, roles, _)| *n == name && roles.contains(&role))
}

impl fmt::Debug for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
