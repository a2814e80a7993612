// Package policies decides whether a deploy plan may roll out: allowed,
// allowed once people approve at the plan's gates, or denied with reasons.
//
// # Where rules come from
//
// Rules live in the GitOps repository under policies/*.yaml (kind
// DeployPolicy). They are always read from the base revision of the pull
// request being judged, never from the pull request itself: otherwise a
// PR could relax the rules that judge it. Load therefore takes the
// Revision it reads from, refuses one without a SHA, and every Decision
// carries that revision so that a check run can say which rules it
// applied. Policy files are checked strictly when loaded: unknown fields,
// bad conditions, unknown time zones and impossible requirements are
// errors at file:line:col, in the same planner.ErrorList the plan
// checker uses. A repository whose policies do not load allows nothing
// (LoadFailed).
//
// # Rules
//
// A rule has a name unique across all policy files, an optional condition
// (`when`, a CEL expression over the plan, the pull request, the actor and
// the time) and exactly one effect:
//
//   - require: approvals from teams or users at the plan's gates
//     ("after-canary", "before-<wave>", or every gate);
//   - deny: a message; the deploy may not go ahead;
//   - freeze: a time window, in a named time zone, without deploys;
//   - limits: bounds on the size and speed of the rollout.
//
// # Decisions
//
// Evaluate applies every rule, in file order, to an Input: the expanded
// plan, facts about the pull request, the actor and the current time
// (passed in; the package never reads the clock or does I/O beyond the
// fs.FS given to Load). Any denial — a deny rule, a freeze in force, a
// limit exceeded, a required gate the plan lacks, or a condition that
// could not be evaluated — makes the verdict deny; otherwise any
// requirement makes it needs-approval; otherwise allow. Conditions fail
// closed: a runtime error in a condition is a denial, never a skipped
// rule. A plan cannot escape a require rule by leaving out its gate: a
// require rule that fires on a plan without the gate denies it and says
// how to add the gate.
//
// # Approvals
//
// Once a plan is running, each gate waits for approvals. Requirement.Authorize
// tells whether one approval counts (and why not, for the person who
// tried), and Tally counts the approvals of a gate: distinct people,
// repeated deliveries once, the PR author only where allowed, reviews only
// where allowed. A gate no rule names needs one approval from anyone with
// write access other than the PR author (DefaultRequirement).
//
// # What it must not import
//
// The policies are pure: planner is the only prdeploy package they import;
// no Temporal, no Kubernetes client, no net or os (they read only the
// fs.FS they are given, and time is passed in). workflows, the CLI and
// the adapters import them. internal/archtest holds these rules.
package policies

// Freeze windows and `now.getHours("Europe/Berlin")` need the IANA time
// zone database; embed it so that a minimal container image decides
// exactly as a developer machine does.
import _ "time/tzdata"
