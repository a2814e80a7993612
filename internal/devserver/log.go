package devserver

import (
	"context"
	"log/slog"

	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts a *slog.Logger to the Temporal server's log.Logger.
// The slog handler underneath is a levelHandler, so the server's chatter
// below its minimum level is dropped before any tag is rendered.
type serverLogger struct{ log *slog.Logger }

var (
	_ serverlog.Logger      = serverLogger{}
	_ serverlog.WithLogger  = serverLogger{}
	_ serverlog.SLogWrapper = serverLogger{}
)

func (l serverLogger) Debug(msg string, tags ...tag.Tag) { l.emit(slog.LevelDebug, msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)  { l.emit(slog.LevelInfo, msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag)  { l.emit(slog.LevelWarn, msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }

// DPanic, Panic and Fatal are logged as errors: an embedded server must not
// panic or exit the process that embeds it because of a log call.
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) Panic(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) Fatal(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }

// With returns a logger with the tags prepended to every record.
func (l serverLogger) With(tags ...tag.Tag) serverlog.Logger {
	return serverLogger{slog.New(l.log.Handler().WithAttrs(attrs(tags)))}
}

// SLog is what the server's log.NewSlogLogger unwraps, so components that
// log through slog are filtered the same way.
func (l serverLogger) SLog() *slog.Logger { return l.log }

func (l serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.LogAttrs(ctx, level, msg, attrs(tags)...)
}

func attrs(tags []tag.Tag) []slog.Attr {
	out := make([]slog.Attr, len(tags))
	for i, t := range tags {
		out[i] = slog.Any(t.Key(), lazyTag{t})
	}
	return out
}

// lazyTag renders a tag's value only when a handler writes the record;
// loggers built with With at start-up are therefore cheap.
type lazyTag struct{ tag tag.Tag }

func (t lazyTag) LogValue() slog.Value { return slog.AnyValue(t.tag.Value()) }

// levelHandler drops records below a level that can be raised at run time
// (Stop raises it to error: the server warns routinely while shutting down).
type levelHandler struct {
	min  *slog.LevelVar
	next slog.Handler
}

func (h levelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min.Level() && h.next.Enabled(ctx, level)
}

func (h levelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.next.Handle(ctx, r)
}

func (h levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return levelHandler{min: h.min, next: h.next.WithAttrs(as)}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{min: h.min, next: h.next.WithGroup(name)}
}
