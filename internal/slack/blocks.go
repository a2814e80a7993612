package slack

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/prdeploy/prdeploy/workflows"
)

// Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit).
const (
	maxBlocks      = 50
	maxSectionText = 3000
	maxHeaderText  = 150
	maxButtonText  = 75
	maxButtonValue = 2000
	maxConfirmHead = 100
	maxConfirmText = 300
	maxConfirmBtn  = 30
	// maxSummaryText bounds the summary sections together: past about
	// 13,000 characters of blocks Slack answers msg_blocks_too_long, a
	// limit it does not document, so the summary stays well under it.
	maxSummaryText = 10000
	// maxFallbackText bounds a message's text (Slack truncates at 40,000
	// and advises 4,000).
	maxFallbackText = 3000
)

// Action identifiers of the buttons on a tenant paused by a failed safety
// check (/hold and /rollback <tenant>; the deployment-wide ones are
// workflows.Action*): defined once, with their commands.
const (
	ActionInvestigate    = workflows.ActionInvestigate
	ActionRollbackTenant = workflows.ActionRollbackTenant
)

// Block IDs, unique within a message.
const (
	blockTitle         = "title"
	blockPaused        = "paused"
	blockPausedActions = "paused-actions"
	blockSummary       = "summary-" // + index
	blockContext       = "context"
	blockActions       = "actions"
)

// TenantValue is the value of the buttons on a paused tenant:
// "<deployment>|<tenant>".
func TenantValue(deployment, tenant string) string { return deployment + "|" + tenant }

const cutNote = "_… cut to fit Slack; the check run on GitHub has the whole report._"

var errNoDeployment = errors.New("the message has buttons but no deployment ID to put in them")

// messageBlocks lays out a deployment's message: the title, the question
// to the initiator when a tenant is paused on a failed check, the summary,
// a context line, and the deployment's buttons. It also returns the
// fallback text that notifications show.
func messageBlocks(m workflows.ChatMessage) ([]slackapi.Block, string, error) {
	title := strings.TrimSpace(m.Report.Title)
	if title == "" {
		title = m.Deployment
	}
	if title == "" {
		title = "prdeploy"
	}
	mention := mentionOf(m.Mention)

	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(plain(cutText(oneLine(title), maxHeaderText)), slackapi.HeaderBlockOptionBlockID(blockTitle)),
	}
	fallback := escape(title)

	var tail []slackapi.Block
	if p := m.PausedOnFailure; p != nil {
		if m.Deployment == "" {
			return nil, "", errNoDeployment
		}
		value := TenantValue(m.Deployment, p.Tenant)
		if len(value) > maxButtonValue {
			return nil, "", fmt.Errorf("button value for tenant %q is %d bytes, over Slack's %d", p.Tenant, len(value), maxButtonValue)
		}
		text := pausedText(mention, *p)
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwnText(text), nil, nil, slackapi.SectionBlockOptionBlockID(blockPaused)))
		investigate := slackapi.NewButtonBlockElement(ActionInvestigate, value, plain("Investigate (keep paused)"))
		investigate.AccessibilityLabel = cutText("Keep tenant "+p.Tenant+" paused to investigate", maxButtonText)
		rollback := slackapi.NewButtonBlockElement(ActionRollbackTenant, value, plain("Roll back now")).
			WithStyle(slackapi.StyleDanger).
			WithConfirm(confirm("Roll back "+p.Tenant+"?",
				fmt.Sprintf("This rolls back %s in tenant %s now, without waiting for the automatic rollback.", m.Deployment, p.Tenant),
				"Roll back"))
		rollback.AccessibilityLabel = cutText("Roll back tenant "+p.Tenant+" now", maxButtonText)
		blocks = append(blocks, slackapi.NewActionBlock(blockPausedActions, investigate, rollback))
		// Edits do not notify, but a new message does: say it in the text.
		fallback = strings.TrimSpace(mention+" a safety check failed in tenant "+escape(p.Tenant)) + " — " + fallback
	}

	context := statusLine(m.Report)
	if m.Deployment != "" {
		context += " · `" + escape(strings.ReplaceAll(m.Deployment, "`", "ˋ")) + "`"
	}
	if mention != "" {
		context += " · merged by " + mention
	}
	tail = append(tail, slackapi.NewContextBlock(blockContext, mrkdwnText(cutText(context, maxSectionText))))

	if len(m.Report.Actions) > 0 {
		if m.Deployment == "" {
			return nil, "", errNoDeployment
		}
		if len(m.Deployment) > maxButtonValue {
			return nil, "", fmt.Errorf("deployment ID is %d bytes, over Slack's %d for a button value", len(m.Deployment), maxButtonValue)
		}
		var buttons []slackapi.BlockElement
		for _, a := range m.Report.Actions {
			buttons = append(buttons, actionButton(a, m.Deployment))
		}
		tail = append(tail, slackapi.NewActionBlock(blockActions, buttons...))
	}

	room := maxBlocks - len(blocks) - len(tail)
	for i, s := range summarySections(m.Report.Summary, room) {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwnText(s), nil, nil, slackapi.SectionBlockOptionBlockID(fmt.Sprintf("%s%d", blockSummary, i))))
	}
	blocks = append(blocks, tail...)
	return blocks, cutText(fallback, maxFallbackText), nil
}

// summarySections converts the summary and cuts it into at most room
// sections, within maxSummaryText together; what does not fit is replaced
// by a note.
func summarySections(summary string, room int) []string {
	text := Markdown(summary)
	if text == "" || room <= 0 {
		return nil
	}
	sections := splitSections(text, maxSectionText)
	total, cut := 0, false
	var out []string
	for _, s := range sections {
		if len(out) == room || total+slackLen(s) > maxSummaryText {
			cut = true
			break
		}
		out = append(out, s)
		total += slackLen(s)
	}
	if !cut {
		return out
	}
	// Make room for the note in the last section, or in a section of its
	// own when the last one is full.
	last := len(out) - 1
	switch {
	case last >= 0 && slackLen(out[last])+slackLen(cutNote)+2 <= maxSectionText && total+slackLen(cutNote)+2 <= maxSummaryText:
		out[last] += "\n\n" + cutNote
	case len(out) < room && total+slackLen(cutNote) <= maxSummaryText:
		out = append(out, cutNote)
	case last >= 0:
		out[last] = cutText(out[last], maxSectionText-slackLen(cutNote)-2-len("```")) + closeFence(out[last]) + "\n\n" + cutNote
	default:
		out = []string{cutNote}
	}
	return out
}

// closeFence returns a fence that closes s's last code block when s was
// cut inside one.
func closeFence(s string) string {
	if strings.Count(s, "```")%2 == 1 {
		return "\n```"
	}
	return ""
}

func actionButton(a workflows.ReportAction, deployment string) *slackapi.ButtonBlockElement {
	label := a.Label
	if label == "" {
		label = a.Identifier
	}
	b := slackapi.NewButtonBlockElement(a.Identifier, deployment, plain(cutText(label, maxButtonText)))
	if a.Description != "" {
		b.AccessibilityLabel = cutText(a.Description, maxButtonText)
	}
	action, _ := workflows.SplitIdentifier(a.Identifier)
	switch action {
	case workflows.ActionApprove:
		b.WithStyle(slackapi.StylePrimary)
	case workflows.ActionRollback:
		what := a.Description
		if what == "" {
			what = "Roll back every deployed tenant"
		}
		b.WithStyle(slackapi.StyleDanger).
			WithConfirm(confirm("Roll back "+deployment+"?", strings.TrimSuffix(what, ".")+" of "+deployment+".", "Roll back"))
	}
	return b
}

func confirm(title, text, yes string) *slackapi.ConfirmationBlockObject {
	return slackapi.NewConfirmationBlockObject(
		plain(cutText(title, maxConfirmHead)),
		plain(cutText(text, maxConfirmText)),
		plain(cutText(yes, maxConfirmBtn)),
		plain("Cancel"),
	).WithStyle(slackapi.StyleDanger)
}

// pausedText asks the initiator what to do about a tenant paused by a
// failed safety check, and says when it rolls back on its own.
func pausedText(mention string, p workflows.PausedOnFailure) string {
	var s strings.Builder
	s.WriteString("⏸️ ")
	if mention != "" {
		s.WriteString(mention + " a")
	} else {
		s.WriteString("A")
	}
	s.WriteString(" safety check failed in tenant `" + escape(strings.ReplaceAll(p.Tenant, "`", "ˋ")) + "`")
	if reason := strings.TrimRight(oneLine(p.Reason), ". "); reason != "" {
		s.WriteString(": " + escape(cutText(reason, 1500)))
	}
	s.WriteString(". ")
	if p.RollbackAt.IsZero() {
		s.WriteString("It stays paused until someone decides.")
	} else {
		s.WriteString("Automatic rollback at " + slackDate(p.RollbackAt) + ".")
	}
	return s.String()
}

// slackDate formats t in each reader's own time zone, with a UTC fallback
// for clients that cannot.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{time} {date_short_pretty}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func statusLine(r workflows.Report) string {
	switch {
	case r.Status == "completed" && r.Conclusion == "success":
		return "✅ Succeeded"
	case r.Status == "completed" && r.Conclusion == "failure":
		return "❌ Failed"
	case r.Status == "completed" && r.Conclusion == "cancelled":
		return "🚫 Cancelled"
	case r.Status == "completed":
		return "Completed"
	case r.Conclusion == "action_required":
		return "✋ Waiting for a decision"
	default:
		return "🚀 In progress"
	}
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// mentionOf returns the mention of a Slack user ID, or "" when id is not
// one (a name would not mention anyone, and markup could inject links).
func mentionOf(id string) string {
	if !slackUserID.MatchString(id) {
		return ""
	}
	return "<@" + id + ">"
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
}

func mrkdwnText(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
