package stream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms a client can authenticate with.
const (
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismPlain       = "PLAIN"
)

// ClientConfig is how a Kafka client (producer, consumer, admin) reaches
// and authenticates to the brokers. It is the `kafka:` block of the YAML
// configs:
//
//	kafka:
//	  brokers: ["kafka.example:9093"]
//	  tls:                            # omit for plaintext (embedded broker, tests)
//	    ca_file: /etc/it4ct/kafka-ca.pem
//	    cert_file: ""                 # client certificate, for mutual TLS only
//	    key_file: ""
//	    server_name: kafka.example    # default: the broker's host name
//	  sasl:
//	    mechanism: SCRAM-SHA-512      # or SCRAM-SHA-256, PLAIN (over TLS only)
//	    username: it4ct-350000071
//	    password_file: /run/secrets/kafka-password   # or password_env: IT4CT_KAFKA_PASSWORD
//
// The password is never in the file: only where to read it, when the
// client is built (Opts).
type ClientConfig struct {
	Brokers []string    `yaml:"brokers"`
	TLS     *TLSConfig  `yaml:"tls"`
	SASL    *SASLConfig `yaml:"sasl"`
}

// TLSConfig enables TLS to the brokers. The zero value (all fields empty)
// is TLS with the system's trusted CAs.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs that sign the brokers'
	// certificates; empty trusts the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate and key (PEM), for
	// brokers that require mutual TLS; both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate;
	// default: the host of the broker address.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables the certificate check. Tests only: it
	// lets anyone in the middle read the traffic and the credentials.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASLConfig authenticates the client. Each establishment has its own
// user, allowed to write only its own topics (see EstablishmentACLs).
type SASLConfig struct {
	// Mechanism is SCRAM-SHA-512 (recommended), SCRAM-SHA-256 or PLAIN.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// PasswordFile is a file holding the password (trailing newline
	// ignored); PasswordEnv the name of an environment variable holding
	// it. Exactly one.
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
}

// Secret is a credential read at build time. It prints, formats and logs
// as "[redacted]" so that it cannot leak through an error or a log line;
// Reveal returns the value.
type Secret string

const redacted = "[redacted]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the secret's value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Validate reports every problem of c at once, each prefixed with the YAML
// path of the field (brokers, tls.ca_file, sasl.mechanism ...).
func (c ClientConfig) Validate() error { return c.ValidateAt("") }

// ValidateAt is Validate with paths under prefix (e.g. "kafka"). It checks
// the configuration only; files and environment variables are read by
// Opts.
func (c ClientConfig) ValidateAt(prefix string) error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, fieldErr(prefix, "brokers", "missing: list the broker addresses (host:port)"))
	}
	for i, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			errs = append(errs, fieldErr(prefix, fmt.Sprintf("brokers[%d]", i), fmt.Sprintf("%q is not host:port (e.g. kafka.example:9093)", b)))
		}
	}
	errs = append(errs, c.TLS.ValidateAt(join(prefix, "tls")), c.SASL.ValidateAt(join(prefix, "sasl")))
	return errors.Join(errs...)
}

// ValidateAt checks t (nil: TLS off, nothing to check), naming fields under
// prefix.
func (t *TLSConfig) ValidateAt(prefix string) error {
	if t == nil {
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fieldErr(prefix, "cert_file", "cert_file and key_file go together (client certificate for mutual TLS): set both or neither")
	}
	return nil
}

// ValidateAt checks s (nil: no authentication), naming fields under prefix.
func (s *SASLConfig) ValidateAt(prefix string) error {
	if s == nil {
		return nil
	}
	var errs []error
	switch s.Mechanism {
	case MechanismScramSHA512, MechanismScramSHA256, MechanismPlain:
	case "":
		errs = append(errs, fieldErr(prefix, "mechanism", "missing: set SCRAM-SHA-512 (or SCRAM-SHA-256, PLAIN)"))
	default:
		msg := fmt.Sprintf("unknown mechanism %q (known: SCRAM-SHA-512, SCRAM-SHA-256, PLAIN)", s.Mechanism)
		if up := strings.ToUpper(s.Mechanism); up != s.Mechanism && (up == MechanismScramSHA512 || up == MechanismScramSHA256 || up == MechanismPlain) {
			msg += fmt.Sprintf("; did you mean %q?", up)
		}
		errs = append(errs, fieldErr(prefix, "mechanism", msg))
	}
	if s.Username == "" {
		errs = append(errs, fieldErr(prefix, "username", "missing: the Kafka user of this client (e.g. it4ct-<FINESS>)"))
	}
	if (s.PasswordFile == "") == (s.PasswordEnv == "") {
		errs = append(errs, fieldErr(prefix, "", "set exactly one of password_file or password_env (the password itself never goes in the config)"))
	}
	return errors.Join(errs...)
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

func fieldErr(prefix, field, msg string) error {
	return fmt.Errorf("%s: %s", join(prefix, field), msg)
}

// Opts validates c, reads its secrets (CA, client key, password) and
// returns the franz-go options that connect with it: seed brokers, TLS
// dialer, SASL mechanism. Errors name the field and the file or variable,
// never a secret's value.
func (c ClientConfig) Opts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	sec, err := securityOpts(c.TLS, c.SASL)
	if err != nil {
		return nil, err
	}
	return append(opts, sec...), nil
}

// securityOpts returns the TLS and SASL options (without seed brokers).
func securityOpts(t *TLSConfig, s *SASLConfig) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if t != nil {
		if err := t.ValidateAt("tls"); err != nil {
			return nil, err
		}
		tc, err := t.Build()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if s != nil {
		if err := s.ValidateAt("sasl"); err != nil {
			return nil, err
		}
		m, err := s.Build()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// Build reads the CA and client certificate files and returns the TLS
// client configuration (TLS 1.2 at least).
func (t *TLSConfig) Build() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // documented as tests only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/key_file: loading the client certificate %s: %w", t.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Password reads the password from PasswordFile or PasswordEnv.
func (s *SASLConfig) Password() (Secret, error) {
	var pw string
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			// os errors carry the path and the cause, never the content.
			return "", fmt.Errorf("sasl.password_file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return "", fmt.Errorf("sasl.password_file: %s is empty", s.PasswordFile)
		}
	} else {
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("sasl.password_env: environment variable %s is not set or empty", s.PasswordEnv)
		}
		pw = v
	}
	return Secret(pw), nil
}

// Build reads the password and returns the franz-go SASL mechanism.
func (s *SASLConfig) Build() (sasl.Mechanism, error) {
	pw, err := s.Password()
	if err != nil {
		return nil, err
	}
	switch s.Mechanism {
	case MechanismScramSHA512:
		return scram.Auth{User: s.Username, Pass: pw.Reveal()}.AsSha512Mechanism(), nil
	case MechanismScramSHA256:
		return scram.Auth{User: s.Username, Pass: pw.Reveal()}.AsSha256Mechanism(), nil
	case MechanismPlain:
		return plain.Auth{User: s.Username, Pass: pw.Reveal()}.AsMechanism(), nil
	}
	return nil, fmt.Errorf("sasl.mechanism: unknown mechanism %q", s.Mechanism)
}

// PermanentError is a broker refusal that retrying with the same
// credentials cannot fix: failed authentication, or an ACL denying the
// operation (e.g. an establishment writing another's topic). The publish
// is abandoned at once instead of being retried until the deadline.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports that retrying cannot succeed.
func (e *PermanentError) Permanent() bool { return true }

// IsPermanent reports whether err (or an error it wraps) is permanent:
// retrying the same operation cannot succeed.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// authErrors are the broker answers classified as permanent.
var authErrors = []error{
	kerr.TopicAuthorizationFailed,
	kerr.GroupAuthorizationFailed,
	kerr.ClusterAuthorizationFailed,
	kerr.TransactionalIDAuthorizationFailed,
	kerr.SaslAuthenticationFailed,
	kerr.UnsupportedSaslMechanism,
	kerr.IllegalSaslState,
	kerr.DelegationTokenAuthorizationFailed,
}

// isAuthError reports whether err is an authentication or authorization
// refusal.
func isAuthError(err error) bool {
	for _, a := range authErrors {
		if errors.Is(err, a) {
			return true
		}
	}
	return false
}

// classify wraps authentication and authorization failures as permanent,
// with the fix; other errors are returned unchanged.
func classify(err error, hint string) error {
	if err == nil || !isAuthError(err) {
		return err
	}
	return &PermanentError{Err: fmt.Errorf("%w (%s)", err, hint)}
}

// authWatch is a franz-go hook that reports connections refused for a
// reason retrying cannot fix: SASL authentication failed, or the broker's
// certificate is not trusted. franz-go retries those connections like any
// other (until Publish's deadline); Publish watches this to stop at once.
//
// Kafka answers a wrong password with SASL_AUTHENTICATION_FAILED; some
// brokers (the embedded kfake among them) just close the connection. So,
// when SASL is on, a connection that was opened but closed during its
// initialisation (API versions, then SASL) maxInitFailures times in a row,
// with no successful connection in between, also counts as an
// authentication failure.
type authWatch struct {
	sasl   bool
	failed chan error

	mu           sync.Mutex
	initFailures int
}

// maxInitFailures is how many connections in a row a SASL client may see
// closed during initialisation before Publish gives up.
const maxInitFailures = 3

func newAuthWatch(sasl bool) *authWatch { return &authWatch{sasl: sasl, failed: make(chan error, 1)} }

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (w *authWatch) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, conn net.Conn, err error) {
	w.mu.Lock()
	if err == nil {
		w.initFailures = 0
		w.mu.Unlock()
		return
	}
	if conn != nil {
		w.initFailures++
	}
	n := w.initFailures
	w.mu.Unlock()

	var certErr *tls.CertificateVerificationError
	where := fmt.Sprintf("connect to broker %s:%d", meta.Host, meta.Port)
	switch {
	case isAuthError(err):
		err = &PermanentError{Err: fmt.Errorf("%s: %w (check kafka.sasl: username, mechanism and password)", where, err)}
	case errors.As(err, &certErr):
		err = &PermanentError{Err: fmt.Errorf("%s: %w (check kafka.tls.ca_file and server_name)", where, err)}
	case w.sasl && conn != nil && n >= maxInitFailures && !errors.Is(err, kgo.ErrClientClosed) && !errors.Is(err, context.Canceled):
		err = &PermanentError{Err: fmt.Errorf("%s: the broker closed the connection during authentication %d times in a row (%w): the user, mechanism or password is probably wrong (check kafka.sasl)", where, n, kerr.SaslAuthenticationFailed)}
	default:
		return
	}
	select {
	case w.failed <- err:
	default:
	}
}

// drain forgets a failure reported before now.
func (w *authWatch) drain() {
	select {
	case <-w.failed:
	default:
	}
}

var _ kgo.HookBrokerConnect = (*authWatch)(nil)
