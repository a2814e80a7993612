package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/prdeploy/prdeploy/workflows"
)

const redacted = "[redacted]"

// DefaultTimeout bounds one request when Config.HTTP is not set.
const DefaultTimeout = 15 * time.Second

// Config is what a Client needs.
type Config struct {
	// Token is the bot token (xoxb-…). Required. It is sent to APIURL
	// only, and never printed: Config formats and logs with it redacted.
	Token string
	// APIURL is the Web API's base URL; Slack's by default. Tests point it
	// at slacktest.
	APIURL string
	// UserMap maps GitHub logins (any case) to Slack user IDs, both ways:
	// whom to mention for a login, and which login a Slack user's click
	// is judged as. A Slack user may appear once.
	UserMap map[string]string
	// LookupByEmail lets logins missing from UserMap be found through
	// Emails: users.lookupByEmail for a login, and the email of a Slack
	// user's profile (users.info, scope users:read.email) for a click.
	// UserMap wins over it both ways.
	LookupByEmail bool
	// Emails maps GitHub logins (any case) to email addresses; an address
	// may appear once.
	Emails map[string]string
	// HTTP defaults to a client with DefaultTimeout.
	HTTP *http.Client
	// ObserveError, when set, is told about every call that failed, after
	// its retry, with the Slack method ("chat.postMessage",
	// "chat.update", "users.lookupByEmail", "users.info", or
	// "response_url" for ephemeral answers) and the error the caller gets.
	// Answers the client acts on (a message or user not found) are not
	// failures. It must be quick and safe for concurrent use.
	ObserveError func(method string, err error)
}

// String describes cfg without its token.
func (cfg Config) String() string {
	return fmt.Sprintf("slack.Config{Token:%s APIURL:%q UserMap:%d LookupByEmail:%t Emails:%d}",
		redacted, cfg.APIURL, len(cfg.UserMap), cfg.LookupByEmail, len(cfg.Emails))
}

// GoString describes cfg without its token.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue describes cfg without its token.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token", redacted),
		slog.String("apiURL", cfg.APIURL),
		slog.Int("userMap", len(cfg.UserMap)),
		slog.Bool("lookupByEmail", cfg.LookupByEmail),
		slog.Int("emails", len(cfg.Emails)),
	)
}

// Client posts deployments to Slack: it is prdeploy's workflows.Chat. It
// holds no state that changes after New, and is safe for concurrent use.
type Client struct {
	api   *slackapi.Client
	http  *http.Client
	token string
	// users maps lower-case logins to Slack IDs, logins the other way.
	users  map[string]string
	logins map[string]string
	// emails maps lower-case logins to addresses, byEmail lower-case
	// addresses to logins as configured.
	lookupByEmail bool
	emails        map[string]string
	byEmail       map[string]string
	retryWait     time.Duration
	observeError  func(method string, err error)
}

var _ workflows.Chat = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("slack: no bot token configured: set the Slack app's bot token (xoxb-…)")
	}
	c := &Client{
		http:          cfg.HTTP,
		token:         cfg.Token,
		users:         map[string]string{},
		logins:        map[string]string{},
		lookupByEmail: cfg.LookupByEmail,
		emails:        map[string]string{},
		byEmail:       map[string]string{},
		retryWait:     quickRetryWait,
		observeError:  cfg.ObserveError,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	for login, id := range cfg.UserMap {
		key := normLogin(login)
		if key == "" {
			return nil, fmt.Errorf("slack: user map has an empty GitHub login (for %q)", id)
		}
		if !slackUserID.MatchString(id) {
			return nil, fmt.Errorf("slack: user map: %q for GitHub login %q is not a Slack user ID: use the member ID (U… or W…) from the user's Slack profile", id, login)
		}
		if prev, ok := c.users[key]; ok && prev != id {
			return nil, fmt.Errorf("slack: user map: GitHub login %q appears twice, with different Slack users", login)
		}
		if other, ok := c.logins[id]; ok && normLogin(other) != key {
			return nil, fmt.Errorf("slack: user map: Slack user %s is mapped to both %q and %q: a click must name one GitHub login", id, other, login)
		}
		c.users[key] = id
		c.logins[id] = strings.TrimSpace(login)
	}
	for login, email := range cfg.Emails {
		key, addr := normLogin(login), strings.ToLower(strings.TrimSpace(email))
		if key == "" || !strings.Contains(addr, "@") {
			return nil, fmt.Errorf("slack: emails: want a GitHub login and an email address, have %q → %q", login, email)
		}
		if other, ok := c.byEmail[addr]; ok && normLogin(other) != key {
			return nil, fmt.Errorf("slack: emails: %s is the address of both %q and %q: a Slack user must map to one GitHub login", email, other, login)
		}
		c.emails[key] = addr
		c.byEmail[addr] = strings.TrimSpace(login)
	}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(c.http)}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("slack: API URL %q is not an http(s) URL", cfg.APIURL)
		}
		base := cfg.APIURL
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		opts = append(opts, slackapi.OptionAPIURL(base))
	}
	c.api = slackapi.New(cfg.Token, opts...)
	return c, nil
}

// String describes c without its token.
func (c *Client) String() string {
	return fmt.Sprintf("slack.Client(%d mapped users, lookup by email %t)", len(c.users), c.lookupByEmail)
}

// GoString describes c without its token.
func (c *Client) GoString() string { return c.String() }

func normLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

// UpsertMessage posts the deployment's message (chat.postMessage), or
// updates it in place when m.Ref is set (chat.update). A message deleted
// in Slack is posted again, and the new reference returned.
func (c *Client) UpsertMessage(ctx context.Context, m workflows.ChatMessage) (workflows.ChatRef, error) {
	blocks, text, err := messageBlocks(m)
	if err != nil {
		return workflows.ChatRef{}, workflows.Permanent(fmt.Errorf("slack: message for %s: %w", m.Deployment, err))
	}
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
	}
	if m.Ref.TS != "" {
		channel := m.Ref.Channel
		if channel == "" {
			channel = m.Channel
		}
		if channel == "" {
			return workflows.ChatRef{}, badInput("slack: updating message %s of %s: no channel", m.Ref.TS, m.Deployment)
		}
		var ch, ts string
		err := c.call(ctx, methodUpdate, fmt.Sprintf("slack chat.update of message %s in %s", m.Ref.TS, channel), true, func(ctx context.Context) error {
			var err error
			ch, ts, _, err = c.api.UpdateMessageContext(ctx, channel, m.Ref.TS, opts...)
			return err
		})
		switch code := ErrorCode(err); {
		case err == nil:
			return chatRef(ch, channel, ts, m.Ref.TS), nil
		case code == "message_not_found" && m.Channel != "":
			// Someone deleted it: post a new one below.
		default:
			return workflows.ChatRef{}, err
		}
	}
	if m.Channel == "" {
		return workflows.ChatRef{}, badInput("slack: posting the message of %s: no channel: configure one in the plan or the cluster", m.Deployment)
	}
	var ch, ts string
	err = c.call(ctx, methodPost, "slack chat.postMessage to "+m.Channel, false, func(ctx context.Context) error {
		var err error
		ch, ts, err = c.api.PostMessageContext(ctx, m.Channel, append(opts, slackapi.MsgOptionDisableLinkUnfurl())...)
		return err
	})
	if err != nil {
		return workflows.ChatRef{}, err
	}
	if ts == "" {
		return workflows.ChatRef{}, fmt.Errorf("slack chat.postMessage to %s: the answer has no message ts", m.Channel)
	}
	return chatRef(ch, m.Channel, ts, ""), nil
}

// chatRef prefers what Slack answered (the channel's ID, where the
// request may have named it) over what was sent.
func chatRef(channel, sentChannel, ts, sentTS string) workflows.ChatRef {
	if channel == "" {
		channel = sentChannel
	}
	if ts == "" {
		ts = sentTS
	}
	return workflows.ChatRef{Channel: channel, TS: ts}
}

// maxReplyText keeps replies short (Slack advises at most 4,000
// characters for a message's text).
const maxReplyText = 3900

// Reply posts text, GitHub Markdown converted to mrkdwn, in the thread of
// a message.
func (c *Client) Reply(ctx context.Context, thread workflows.ChatRef, text string) error {
	if thread.Channel == "" || thread.TS == "" {
		return badInput("slack: reply: the thread needs a channel and a ts, have %+v", thread)
	}
	body := cutText(Markdown(text), maxReplyText)
	if body == "" {
		return badInput("slack: reply in %s/%s: empty text", thread.Channel, thread.TS)
	}
	// A reporter retried after a crash may reply again: a reply already in
	// the thread is not posted twice. When the thread cannot be read (the
	// app lacks channels:history, Slack is down), the reply is posted.
	if c.inThread(ctx, thread, body) {
		return nil
	}
	return c.call(ctx, methodPost, fmt.Sprintf("slack chat.postMessage in thread %s of %s", thread.TS, thread.Channel), false, func(ctx context.Context) error {
		_, _, err := c.api.PostMessageContext(ctx, thread.Channel,
			slackapi.MsgOptionText(body, false),
			slackapi.MsgOptionTS(thread.TS),
			slackapi.MsgOptionDisableLinkUnfurl())
		return err
	})
}

// inThread says whether the thread already holds a reply with this text
// (the first 200 replies are read).
func (c *Client) inThread(ctx context.Context, thread workflows.ChatRef, text string) bool {
	var msgs []slackapi.Message
	err := c.try(ctx, "slack conversations.replies", true, func(ctx context.Context) error {
		var err error
		msgs, _, _, err = c.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{ChannelID: thread.Channel, Timestamp: thread.TS, Limit: 200})
		return err
	})
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if m.Timestamp != thread.TS && m.Text == text {
			return true
		}
	}
	return false
}

// maxResponseAnswer bounds what is read of a response_url's answer.
const maxResponseAnswer = 64 << 10

// Ephemeral answers the person who clicked, privately, through the
// interaction's response_url (valid for 30 minutes and five uses). The
// response_url is a capability: errors name its host only.
func (c *Client) Ephemeral(ctx context.Context, responseURL, text string) error {
	u, err := url.Parse(responseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badInput("slack: ephemeral answer: the response_url is not an http(s) URL")
	}
	body := cutText(Markdown(text), maxSectionText)
	if body == "" {
		return badInput("slack: ephemeral answer: empty text")
	}
	payload, err := json.Marshal(struct {
		ResponseType    string `json:"response_type"`
		ReplaceOriginal bool   `json:"replace_original"`
		Text            string `json:"text"`
	}{"ephemeral", false, body})
	if err != nil {
		return workflows.Permanent(err)
	}
	return c.call(ctx, methodResponseURL, "slack ephemeral answer to the response_url on "+u.Host, false, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(payload))
		if err != nil {
			return workflows.Permanent(errors.New("building the request failed"))
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := c.http.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its message holds the whole URL
			}
			return err
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseAnswer))
		return responseURLError(resp, answer)
	})
}

// responseURLError reads a response_url's answer: "ok" or {"ok":true} is
// success, {"ok":false,"error":…} or a 4xx a refusal (an expired or
// used-up URL), and a 429 or 5xx worth retrying.
func responseURLError(resp *http.Response, answer []byte) error {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			return &slackapi.RateLimitedError{RetryAfter: time.Duration(s) * time.Second}
		}
		return slackapi.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		if code := strings.TrimSpace(string(answer)); code != "" && len(code) < 100 && !strings.ContainsAny(code, "<{\n") {
			return fmt.Errorf("%w: %s", slackapi.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}, code)
		}
		return slackapi.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	var r struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(answer, &r) == nil && r.OK != nil && !*r.OK {
		return slackapi.SlackErrorResponse{Err: r.Error}
	}
	return nil
}

// LookupUser returns the Slack user to mention for a GitHub login: from
// UserMap, else, with LookupByEmail, the Slack user with the login's
// configured email. Deactivated users and bots are not returned.
func (c *Client) LookupUser(ctx context.Context, githubLogin string) (string, bool, error) {
	key := normLogin(githubLogin)
	if key == "" {
		return "", false, nil
	}
	if id, ok := c.users[key]; ok {
		return id, true, nil
	}
	email, ok := c.emails[key]
	if !c.lookupByEmail || !ok {
		return "", false, nil
	}
	var u *slackapi.User
	err := c.call(ctx, methodLookupByEmail, fmt.Sprintf("slack users.lookupByEmail for GitHub login %q", githubLogin), true, func(ctx context.Context) error {
		var err error
		u, err = c.api.GetUserByEmailContext(ctx, email)
		return err
	})
	switch {
	case ErrorCode(err) == "users_not_found":
		return "", false, nil
	case err != nil:
		return "", false, err
	case u == nil || u.ID == "" || u.Deleted || u.IsBot:
		return "", false, nil
	}
	return u.ID, true, nil
}

// GitHubLogin returns the GitHub login a Slack user acts as: from
// UserMap, else, with LookupByEmail, the login whose configured email is
// the address on the user's Slack profile — unless UserMap gives that
// login to another Slack user. Deactivated users and bots act as no one.
func (c *Client) GitHubLogin(ctx context.Context, chatUser string) (string, bool, error) {
	if login, ok := c.logins[chatUser]; ok {
		return login, true, nil
	}
	if !c.lookupByEmail || len(c.byEmail) == 0 || !slackUserID.MatchString(chatUser) {
		return "", false, nil
	}
	var u *slackapi.User
	err := c.call(ctx, methodUserInfo, "slack users.info for "+chatUser, true, func(ctx context.Context) error {
		var err error
		u, err = c.api.GetUserInfoContext(ctx, chatUser)
		return err
	})
	switch {
	case ErrorCode(err) == "user_not_found":
		return "", false, nil
	case err != nil:
		return "", false, err
	case u == nil || u.ID != chatUser || u.Deleted || u.IsBot:
		return "", false, nil
	}
	login, ok := c.byEmail[strings.ToLower(strings.TrimSpace(u.Profile.Email))]
	if !ok {
		return "", false, nil
	}
	if id, mapped := c.users[normLogin(login)]; mapped && id != chatUser {
		return "", false, nil
	}
	return login, true, nil
}
