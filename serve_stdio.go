package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linecap"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// Concurrency of tools/call over stdio, and a queue deep enough that a
// burst never stalls reading stdin. mcp-go hands each call to the worker
// that has waited longest, so every worker's stack stays grown to a call's
// depth (16 KiB or more): 100 workers held 1.4 MB more than 32 under the
// same load and served no faster, since one agent's fan-out rarely passes
// 32 and the queue holds the rest.
const (
	stdioWorkers = 32
	stdioQueue   = 2000
	// maxStdinLine bounds one message on stdin: the largest tool call
	// (448 KiB of arguments) with room to spare. A longer line is dropped
	// as it streams by and answered with an error, so it costs no memory.
	maxStdinLine = 4 << 20
	// maxPending and maxPendingBytes bound the requests read and not yet
	// answered, in count and in bytes: a request beyond either is answered
	// "busy" at once. Tool calls beyond the queue already hold up reading,
	// which is their back-pressure; the count bounds the other requests,
	// which mcp-go serves each on a goroutine of its own.
	maxPending      = 10000
	maxPendingBytes = 16 << 20
)

// serveStdio serves one agent on stdin and stdout with the operator's key,
// until stdin ends or ctx is cancelled, and returns the exit code.
func serveStdio(ctx context.Context, cfg config, rs resources, client *togetherapi.Client, logger zerolog.Logger, errOut io.Writer, stdin io.Reader, stdout io.Writer) int {
	if cfg.sandbox {
		logger.Warn().Msg("sandbox mode: secrets are kept in memory and never reach Together")
	} else if cfg.keySource() == "" {
		// Every source of a key names itself, and an empty key fails
		// start-up: no source, no key.
		logger.Warn().Msg("no API key: set " + keyVariable + ", " + settingName("api-key-file") + " or " + settingName("api-key-command") + "; until then every tool call returns an error saying so")
	}
	intakeCfg := cfg.intake
	intakeCfg.Sandbox, intakeCfg.Redact, intakeCfg.Logger = cfg.sandbox, client.KeyScrubber(), logger.With().Str("component", "intake").Logger()
	pages, err := intake.New(intakeCfg)
	if err != nil {
		return startupFailed(errOut, settingError("intake-addr", "%v", err))
	}
	defer pages.Close()
	if host, _, _ := net.SplitHostPort(intakeCfg.Addr); intakeCfg.AllowNonLoopback && !netguard.IsLoopback(host) {
		logger.Warn().Str("addr", intakeCfg.Addr).Msg("the one-time value page will listen beyond loopback: publish its port to 127.0.0.1 only")
	}
	s, err := tools.NewServer(tools.Config{
		Intake:   pages,
		Version:  buildVersion(),
		Sandbox:  cfg.sandbox,
		Logger:   logger,
		Tools:    cfg.tools,
		Advice:   advice(cfg),
		EnvFiles: rs.envFiles,

		NamePrefixes: cfg.namePrefixes,
		Audit:        rs.audit,
	})
	if err != nil {
		return startupFailed(errOut, err)
	}
	var envFiles []string
	for _, f := range rs.envFiles {
		envFiles = append(envFiles, f.Path)
	}
	logger.Info().Str("version", buildVersion()).Str("base_url", cfg.apiRoot()).
		Str("key_source", cfg.keySource()).Bool("sandbox", cfg.sandbox).Strs("env_files", envFiles).Msg("serving MCP on stdio")
	for _, note := range cfg.ignored {
		logger.Warn().Msg(note)
	}
	for _, note := range rs.envFileNotes {
		logger.Warn().Msg(note)
	}
	if cfg.auditLog == "-" {
		logger.Warn().Msg(settingName("audit-log") + " is -: audit lines go to stderr, and a host that does not read it will see every change refused once the pipe fills; give a file instead")
	}

	// Responses, notifications and the answers to dropped lines share
	// stdout; each is written whole.
	out := syncio.NewWriter(stdout)
	in := linecap.NewReader(stdin, maxStdinLine, func(id json.RawMessage, size int64) {
		logger.Warn().Int64("bytes", size).Msg("dropped a message over the size limit")
		_, _ = fmt.Fprintf(out, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":"the message is %d bytes, more than the %d this server reads, so nothing was done; keep arguments small (a secret value may be at most %d bytes)"}}`+"\n",
			id, mcp.INVALID_REQUEST, size, maxStdinLine, togetherapi.ValueMaxBytes)
	})
	pending := linecap.NewPending(maxPending, maxPendingBytes)
	in.Admit = func(line []byte) bool {
		id, err := pending.Admit(line)
		refuseLine(logger, out, id, err)
		return err == nil
	}
	// What mcp-go writes answers requests, and gives back their share.
	answers := writerFunc(func(p []byte) (int, error) {
		pending.Answered(p)
		return out.Write(p)
	})
	stdio := server.NewStdioServer(s)
	// One client, with the operator's key, for every call.
	deps := tools.Deps{Client: client}
	stdio.SetContextFunc(func(ctx context.Context) context.Context { return tools.WithDeps(ctx, deps) })
	stdio.SetErrorLogger(log.New(logger.With().Str("component", "stdio").Logger(), "", 0))
	// mcp-go runs tools/call on 5 workers behind a queue of 100, and blocks
	// the read loop when the queue is full. Agents fan out, and each call
	// mostly waits on the network, so run more at once and queue plenty.
	server.WithWorkerPoolSize(stdioWorkers)(stdio)
	server.WithQueueSize(stdioQueue)(stdio)
	err = stdio.Listen(ctx, in, answers)
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error().Err(err).Msg("stdio server stopped")
		return 1
	}
	logger.Info().Msg("stopped")
	return 0
}

// refuseLine answers a line that Pending kept from the server, if the
// server would have answered it, and logs it.
func refuseLine(logger zerolog.Logger, out io.Writer, id json.RawMessage, err error) {
	var busy *linecap.BusyError
	switch {
	case errors.As(err, &busy):
		logger.Warn().Int("pending", busy.Count).Int64("pending_bytes", busy.Bytes).Msg("answered a request busy: too many waiting")
		_, _ = fmt.Fprintf(out, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":"busy: %d requests (%d bytes) are waiting for an answer, the most this server holds, so nothing was done; send this again once earlier calls have answered"}}`+"\n",
			id, busyCode, busy.Count, busy.Bytes)
	case errors.Is(err, linecap.ErrIdleCall):
		logger.Warn().Msg("dropped a tools/call that the server would never answer (a notification, or one with a result)")
	case errors.Is(err, linecap.ErrStrayResponse):
		logger.Warn().Msg("dropped a response to no request of this server's that is waiting")
		if id != nil {
			_, _ = fmt.Fprintf(out, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":"this message carries a result or an error, so it is a response, but this server is waiting for no answer with its id (it was answered already, or the call that asked was cancelled), so it was not read and nothing was done; send a request without result or error, and answer each request of the server's once"}}`+"\n",
				id, mcp.INVALID_REQUEST)
		}
	}
}

// busyCode is the JSON-RPC error code of a request answered "busy": in the
// range the specification leaves to servers.
const busyCode = -32000

// writerFunc is a function that is an io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
