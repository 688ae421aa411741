package stream

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// discardLogger is used when a caller passes no logger.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// kgoLogger adapts slog to kgo.Logger (franz-go's plugin/kslog is not in the
// module graph; this is the same thirty lines). kgo's info level is chatty
// (every connection, every metadata refresh), so it maps to slog debug.
type kgoLogger struct{ l *slog.Logger }

func newKgoLogger(l *slog.Logger) kgo.Logger { return kgoLogger{l: l.With("component", "franz-go")} }

func (k kgoLogger) Level() kgo.LogLevel {
	ctx := context.Background()
	switch {
	case k.l.Enabled(ctx, slog.LevelDebug-4):
		return kgo.LogLevelDebug
	case k.l.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelInfo
	case k.l.Enabled(ctx, slog.LevelWarn):
		return kgo.LogLevelWarn
	case k.l.Enabled(ctx, slog.LevelError):
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var l slog.Level
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelInfo:
		l = slog.LevelDebug
	default:
		l = slog.LevelDebug - 4
	}
	k.l.Log(context.Background(), l, msg, keyvals...)
}

// kfakeLogger adapts slog to kfake.Logger, with the same level mapping as
// kgoLogger. kfake formats printf-style.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var l slog.Level
	switch level {
	case kfake.LogLevelError:
		l = slog.LevelError
	case kfake.LogLevelWarn:
		l = slog.LevelWarn
	case kfake.LogLevelInfo:
		l = slog.LevelDebug
	default:
		l = slog.LevelDebug - 4
	}
	ctx := context.Background()
	if !k.l.Enabled(ctx, l) {
		return
	}
	k.l.Log(ctx, l, fmt.Sprintf(format, args...))
}
