//! Settings profiles (`<scenarios>/profiles.toml`): named sets of Django settings. Django reads
//! settings at start-up, so every profile a run needs gets its own app instance on each target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::scenario::{PROFILES_FILE, ScenarioError, parse_toml, read};

pub const DEFAULT_PROFILE: &str = "default";

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Setting name → value, passed to both apps as the JSON object in `DJC_SETTINGS`.
    pub settings: serde_json::Map<String, Value>,
}

impl Profile {
    pub fn default_profile() -> Profile {
        Profile {
            name: DEFAULT_PROFILE.to_owned(),
            description: "the contract's defaults".to_owned(),
            settings: Default::default(),
        }
    }

    pub fn settings_json(&self) -> String {
        Value::Object(self.settings.clone()).to_string()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    settings: serde_json::Map<String, Value>,
}

/// The profiles declared in every scenarios folder, plus `default`.
#[derive(Debug, Clone)]
pub struct Profiles(BTreeMap<String, Profile>);

impl Profiles {
    pub fn load(roots: &[PathBuf]) -> Result<Profiles, ScenarioError> {
        let mut profiles =
            BTreeMap::from([(DEFAULT_PROFILE.to_owned(), Profile::default_profile())]);
        for root in roots {
            let file = root.join(PROFILES_FILE);
            if !file.exists() {
                continue;
            }
            for profile in load_file(&file)? {
                if let Some(existing) = profiles.get(&profile.name)
                    && *existing != profile
                    && !(profile.name == DEFAULT_PROFILE && profile.settings.is_empty())
                {
                    return Err(ScenarioError {
                        file,
                        line: None,
                        message: format!(
                            "profile {:?} is declared differently in another scenarios folder",
                            profile.name
                        ),
                    });
                }
                profiles.insert(profile.name.clone(), profile);
            }
        }
        Ok(Profiles(profiles))
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.0.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

fn load_file(file: &Path) -> Result<Vec<Profile>, ScenarioError> {
    let parsed: BTreeMap<String, ProfileFile> = parse_toml(file, &read(file)?)?;
    Ok(parsed
        .into_iter()
        .map(|(name, p)| Profile {
            name,
            description: p.description,
            settings: p.settings,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_always_there_and_files_add_profiles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PROFILES_FILE),
            "[legacy_off]\ndescription = \"d\"\nsettings = { SIGNED_COOKIE_LEGACY_SALT_FALLBACK = false }\n",
        )
        .unwrap();
        let profiles = Profiles::load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(
            profiles.names().collect::<Vec<_>>(),
            ["default", "legacy_off"]
        );
        assert_eq!(
            profiles.get("legacy_off").unwrap().settings_json(),
            r#"{"SIGNED_COOKIE_LEGACY_SALT_FALLBACK":false}"#
        );
        assert_eq!(profiles.get("default").unwrap().settings_json(), "{}");
    }

    #[test]
    fn a_bad_profiles_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PROFILES_FILE), "[p]\nsetings = {}\n").unwrap();
        let err = Profiles::load(&[dir.path().to_owned()]).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("unknown field"), "{err}");
    }
}
