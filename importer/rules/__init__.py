"""Rules: rules.yaml compiled and applied to rows (category, labels, renames, flags), and tested against history.

The package, stage by stage: `subject` (a row as rules see it), `compiler` (YAML to test closures),
`index` (whole columns at once), `engine` (RuleSet: first setter wins, labels accumulate), `file`
(finding, reading and writing rules files), `categories` (category names to PocketSmith ids); and
the commands over them: `history`, `report` (`rules test`), `suggest`, `explain`, `sync` (pull/push).
"""

from importer.rules.engine import Outcome, Rule, RuleSet, outcome_json
from importer.rules.file import (
           compile_rules,
           dump_rules,
           find_rules_file,
           load_rules,
           load_rules_for,
)
from importer.rules.subject import (
           Subject,
           match_key,
           subject_from_existing,
           subject_from_record,
)

__all__ = ["load_rules", "load_rules_for", "compile_rules", "find_rules_file", "dump_rules", "RuleSet", "Rule",
           "Subject", "Outcome", "subject_from_record", "subject_from_existing", "outcome_json", "match_key"]
