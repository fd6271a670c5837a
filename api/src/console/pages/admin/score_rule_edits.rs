//! The score-rules page's forms as changes to the rule set in force: each
//! form edits one rule, one group or the total cap, and the page replaces
//! the whole set with the result (`PUT /v1/score-rules`'s use case), so
//! the API's checks refuse exactly what they refuse there.

use deskbind_core::wire::{
    ScoreCounter, ScoreGroup, ScoreRepeat, ScoreRule, ScoreRuleSet, ScoreTrigger,
};
use serde::Deserialize;

/// Every field any of the page's forms posts; `action` says which form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScoreRulesForm {
    /// The version the page showed; a stale one is refused.
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub trigger: String,
    #[serde(default)]
    pub repeat: String,
    #[serde(default)]
    pub points: String,
    #[serde(default)]
    pub disposition: String,
    #[serde(default)]
    pub counter: String,
    #[serde(default)]
    pub threshold: String,
    #[serde(default)]
    pub group: String,
    /// A group's name (the group forms).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub cap: String,
    #[serde(default)]
    pub total_cap: String,
}

/// Why a form could not even be turned into a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRefused(pub String);

impl ScoreRulesForm {
    pub fn version(&self) -> Result<i64, EditRefused> {
        self.version
            .trim()
            .parse()
            .map_err(|_| EditRefused("The page is out of date: load it again.".into()))
    }

    /// The set in force with this form's change made.
    pub fn apply(&self, set: &ScoreRuleSet) -> Result<ScoreRuleSet, EditRefused> {
        let mut next = set.clone();
        match self.action.as_str() {
            "add_rule" => next.rules.push(self.rule()?),
            "save_rule" => {
                let rule = self.rule()?;
                let slot = next
                    .rules
                    .iter_mut()
                    .find(|r| r.key == rule.key)
                    .ok_or_else(|| gone("rule", &rule.key))?;
                *slot = rule;
            }
            "remove_rule" => {
                let before = next.rules.len();
                next.rules.retain(|r| r.key != self.key);
                if next.rules.len() == before {
                    return Err(gone("rule", &self.key));
                }
            }
            "save_group" => {
                let group = ScoreGroup {
                    name: self.name.trim().to_owned(),
                    cap: whole("Cap", &self.cap)?
                        .ok_or_else(|| EditRefused("Cap: a whole number is needed".into()))?,
                };
                match next.groups.iter_mut().find(|g| g.name == group.name) {
                    Some(slot) => *slot = group,
                    None => next.groups.push(group),
                }
            }
            "remove_group" => {
                let name = self.name.trim();
                if next.rules.iter().any(|r| r.group.as_deref() == Some(name)) {
                    return Err(EditRefused(format!(
                        "Group {name} still bounds rules: move them out of it first."
                    )));
                }
                let before = next.groups.len();
                next.groups.retain(|g| g.name != name);
                if next.groups.len() == before {
                    return Err(gone("group", name));
                }
            }
            "save_total_cap" => next.total_cap = whole("Total cap", &self.total_cap)?,
            _ => return Err(EditRefused("Unknown form: load the page again.".into())),
        }
        Ok(next)
    }

    /// The rule the add and save forms describe.
    fn rule(&self) -> Result<ScoreRule, EditRefused> {
        let trigger = ScoreTrigger::parse(&self.trigger)
            .ok_or_else(|| EditRefused("Trigger: choose one".into()))?;
        let repeat = ScoreRepeat::parse(&self.repeat)
            .ok_or_else(|| EditRefused("Repeat: choose once or each".into()))?;
        let points = whole("Points", &self.points)?
            .ok_or_else(|| EditRefused("Points: a whole number is needed".into()))?;
        // Fields another trigger uses are dropped, so switching a rule's
        // trigger never trips over what the old one needed.
        let disposition = (trigger == ScoreTrigger::Disposition)
            .then(|| optional(&self.disposition))
            .flatten();
        let counted = trigger == ScoreTrigger::CountReached;
        let counter = if counted {
            match optional(&self.counter) {
                None => None,
                Some(c) => Some(
                    ScoreCounter::parse(&c)
                        .ok_or_else(|| EditRefused("Counter: choose one".into()))?,
                ),
            }
        } else {
            None
        };
        let threshold = if counted {
            whole("Threshold", &self.threshold)?
        } else {
            None
        };
        Ok(ScoreRule {
            key: self.key.trim().to_owned(),
            label: self.label.trim().to_owned(),
            trigger,
            repeat,
            points,
            disposition,
            counter,
            threshold,
            group: optional(&self.group),
        })
    }
}

/// Says which rule or group an API refusal such as `rules[2].points` is
/// about, by its key, since the page has no numbered rows.
pub fn describe(field: &str, detail: &str, set: &ScoreRuleSet) -> String {
    let named = |prefix: &str, what: &str, name: &dyn Fn(usize) -> Option<String>| {
        let rest = field.strip_prefix(prefix)?;
        let (index, rest) = rest.split_once(']')?;
        let subject = name(index.parse().ok()?)?;
        let attribute = rest.trim_start_matches('.');
        Some(format!("{what} {subject}: {attribute} {detail}"))
    };
    named("rules[", "Rule", &|i| {
        set.rules.get(i).map(|r| r.key.clone())
    })
    .or_else(|| {
        named("groups[", "Group", &|i| {
            set.groups.get(i).map(|g| g.name.clone())
        })
    })
    .unwrap_or_else(|| {
        let label = match field {
            "total_cap" => "Total cap",
            "rules" => "Rules",
            "groups" => "Groups",
            other => other,
        };
        format!("{label}: {detail}")
    })
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// An optional whole number; empty means none.
fn whole(label: &str, value: &str) -> Result<Option<i64>, EditRefused> {
    match value.trim() {
        "" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| EditRefused(format!("{label}: a whole number is needed"))),
    }
}

fn gone(what: &str, name: &str) -> EditRefused {
    EditRefused(format!(
        "There is no {what} {name} any more: someone changed the rules. Load the page again."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbind_core::domain::scoring::seed_rules;

    fn form(action: &str) -> ScoreRulesForm {
        ScoreRulesForm {
            version: "1".into(),
            action: action.into(),
            ..ScoreRulesForm::default()
        }
    }

    #[test]
    fn saving_a_rule_replaces_it_in_place_and_drops_fields_its_trigger_does_not_use() {
        let seed = seed_rules();
        let edit = ScoreRulesForm {
            key: "call_placed".into(),
            label: "Dialled".into(),
            trigger: "call_placed".into(),
            repeat: "each".into(),
            points: "7".into(),
            threshold: "9".into(),
            disposition: "sale".into(),
            ..form("save_rule")
        };
        let next = edit.apply(&seed).expect("applies");
        assert_eq!(next.rules.len(), seed.rules.len());
        let rule = &next.rules[0];
        assert_eq!((rule.label.as_str(), rule.points), ("Dialled", 7));
        assert_eq!((rule.threshold, rule.disposition.clone()), (None, None));
    }

    #[test]
    fn a_group_that_bounds_rules_is_not_removed_and_an_unknown_rule_is_gone() {
        let mut set = seed_rules();
        set.groups.push(ScoreGroup {
            name: "calls".into(),
            cap: 100,
        });
        set.rules[0].group = Some("calls".into());
        let remove = ScoreRulesForm {
            name: "calls".into(),
            ..form("remove_group")
        };
        assert!(remove.apply(&set).is_err());
        let missing = ScoreRulesForm {
            key: "nope".into(),
            ..form("remove_rule")
        };
        assert!(missing.apply(&set).unwrap_err().0.contains("nope"));
        let bad_points = ScoreRulesForm {
            key: "x".into(),
            trigger: "call_placed".into(),
            repeat: "once".into(),
            points: "many".into(),
            ..form("add_rule")
        };
        assert_eq!(
            bad_points.apply(&set).unwrap_err().0,
            "Points: a whole number is needed"
        );
    }

    #[test]
    fn refusals_name_the_rule_by_its_key() {
        let seed = seed_rules();
        assert_eq!(
            describe("rules[2].threshold", "must be at least 1", &seed),
            "Rule past_100_calls: threshold must be at least 1"
        );
        assert_eq!(
            describe("total_cap", "must be between 1 and 1000000000", &seed),
            "Total cap: must be between 1 and 1000000000"
        );
    }
}
