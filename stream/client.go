// Package stream runs detection over Kafka: `permgraph forward` produces
// normalized audit events keyed by actor, `detect --kafka-brokers` consumes
// them as a consumer group with per-partition rule state, and the snapshot
// job ships the latest compact view through a log-compacted topic
// (docs/kafka.md).
package stream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Client configures the connection to a cluster. Secrets never come from
// flags: the SASL password is read from PasswordEnv or PasswordFile.
type Client struct {
	Brokers []string

	// TLS is on when any TLS field is set.
	TLS         bool
	TLSCA       string // PEM file of CAs to trust (default: system pool)
	TLSCert     string // client certificate (PEM), with TLSKey
	TLSKey      string
	TLSInsecure bool // skip verification (tests only)

	// SASL: "", "plain", "scram-sha-256", "scram-sha-512", "aws-msk-iam".
	SASL         string
	User         string
	PasswordEnv  string // environment variable holding the password
	PasswordFile string // or a file holding it (trailing newline trimmed)

	// ClientID names this process in broker logs (default "permgraph").
	ClientID string
}

// Mechanisms lists the accepted SASL mechanism names.
func Mechanisms() []string {
	return []string{"plain", "scram-sha-256", "scram-sha-512", "aws-msk-iam"}
}

// Opts returns the kgo options for c. The log handler gets franz-go's own
// log lines at warn and above.
func (c Client) Opts(ctx context.Context, log *slog.Logger) ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	id := c.ClientID
	if id == "" {
		id = "permgraph"
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id)}
	if log != nil {
		opts = append(opts, kgo.WithLogger(kgoLogger{log}))
	}
	if c.TLS || c.TLSCA != "" || c.TLSCert != "" || c.TLSInsecure {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if c.SASL != "" {
		m, err := c.mechanism(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (c Client) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecure} //nolint:gosec // opt-in for tests
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls ca %s: no certificates", c.TLSCA)
		}
		tc.RootCAs = pool
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("kafka: tls client certificate and key go together")
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c Client) password() (string, error) {
	switch {
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("kafka: sasl password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case c.PasswordEnv != "":
		p, ok := os.LookupEnv(c.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("kafka: sasl password: environment variable %s is not set", c.PasswordEnv)
		}
		return p, nil
	}
	return "", errors.New("kafka: sasl needs a password (environment variable or file)")
}

func (c Client) mechanism(ctx context.Context) (sasl.Mechanism, error) {
	mech := strings.ToLower(c.SASL)
	if mech == "aws-msk-iam" {
		// Credentials from the default AWS chain (env, profile, IMDS, web
		// identity), fetched (and refreshed) at each authentication.
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("kafka: aws credentials: %w", err)
		}
		return aws.ManagedStreamingIAM(func(ctx context.Context) (aws.Auth, error) {
			cr, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return aws.Auth{}, fmt.Errorf("kafka: aws credentials: %w", err)
			}
			return aws.Auth{AccessKey: cr.AccessKeyID, SecretKey: cr.SecretAccessKey, SessionToken: cr.SessionToken, UserAgent: "permgraph"}, nil
		}), nil
	}
	if c.User == "" {
		return nil, fmt.Errorf("kafka: sasl %s needs a user", c.SASL)
	}
	pass, err := c.password()
	if err != nil {
		return nil, err
	}
	switch mech {
	case "plain":
		return plain.Auth{User: c.User, Pass: pass}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: c.User, Pass: pass}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: c.User, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka: unknown sasl mechanism %q (want %s)", c.SASL, strings.Join(Mechanisms(), ", "))
}

// kgoLogger forwards franz-go's warnings and errors to slog.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, kv ...any) {
	switch level {
	case kgo.LogLevelError:
		l.log.Error("kafka: "+msg, kv...)
	case kgo.LogLevelWarn:
		l.log.Warn("kafka: "+msg, kv...)
	default:
		l.log.Debug("kafka: "+msg, kv...)
	}
}

// Conn holds the connection options of one cluster; every client this
// package makes (group consumer, replay readers, producers) starts from it.
type Conn struct{ opts []kgo.Opt }

// Connect resolves c (TLS files, SASL secrets) into a Conn.
func (c Client) Connect(ctx context.Context, log *slog.Logger) (Conn, error) {
	opts, err := c.Opts(ctx, log)
	if err != nil {
		return Conn{}, err
	}
	return Conn{opts: opts}, nil
}

// ConnOpts wraps ready-made options (tests).
func ConnOpts(opts ...kgo.Opt) Conn { return Conn{opts: opts} }

// NewClient makes a client with the connection options plus extra.
func (c Conn) NewClient(extra ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append(slices.Clone(c.opts), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}
