package stream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Users of the secured test broker.
const (
	userAdmin      = "it4ct-admin"
	userAggregator = "it4ct-aggregator"
)

func userSite(finess string) string { return "it4ct-" + finess }

// secureBroker is an embedded broker requiring SCRAM-SHA-512, with one
// user per establishment, an aggregator user and a superuser, whose
// passwords are in files.
type secureBroker struct {
	*Broker
	pwFiles map[string]string // user -> password file
	tls     *TLSConfig        // client TLS settings, nil without TLS
}

func startSecureBroker(t *testing.T, serverTLS *tls.Config, clientTLS *TLSConfig) *secureBroker {
	t.Helper()
	dir := t.TempDir()
	sb := &secureBroker{pwFiles: map[string]string{}, tls: clientTLS}
	mk := func(name string, super bool) BrokerUser {
		pw := randomHex(t)
		f := filepath.Join(dir, name+".password")
		if err := os.WriteFile(f, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		sb.pwFiles[name] = f
		return BrokerUser{Mechanism: MechanismScramSHA512, Name: name, Password: Secret(pw), Superuser: super}
	}
	admin := mk(userAdmin, true)
	a := mk(userSite(siteA), false)
	a.ACLs = EstablishmentACLs(siteA)
	bu := mk(userSite(siteB), false)
	bu.ACLs = EstablishmentACLs(siteB)
	agg := mk(userAggregator, false)
	agg.ACLs = AggregatorACLs("")
	users := []BrokerUser{admin, a, bu, agg}

	b, err := StartBroker(t.Context(), BrokerConfig{Addr: "127.0.0.1:0", Users: users, TLS: serverTLS})
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	sb.Broker = b
	return sb
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (sb *secureBroker) sasl(user string) *SASLConfig {
	return &SASLConfig{Mechanism: MechanismScramSHA512, Username: user, PasswordFile: sb.pwFiles[user]}
}

func (sb *secureBroker) producer(t *testing.T, user string, opts ...ProducerOpt) *Producer {
	t.Helper()
	return newTestProducer(t, sb.Broker, append([]ProducerOpt{ProducerSASL(sb.sasl(user)), ProducerTLS(sb.tls)}, opts...)...)
}

func (sb *secureBroker) consumerConfig(user string) ConsumerConfig {
	cfg := testConsumerConfig(sb.Broker)
	cfg.SASL, cfg.TLS = sb.sasl(user), sb.tls
	return cfg
}

// publishWithin publishes and fails the test if Publish does not return
// within d: an authorization failure must not be retried until the
// deadline.
func publishWithin(t *testing.T, p *Producer, d time.Duration, msgs []Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	err := p.Publish(ctx, msgs)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish still retrying after %v: %v", d, err)
	}
	return err
}

func TestEstablishmentCredentialWritesOnlyItsTopics(t *testing.T) {
	sb := startSecureBroker(t, nil, nil)
	topicA, topicB := Topic(siteA, ResourceStudy), Topic(siteB, ResourceStudy)

	// The operator (superuser) created B's topic; A must still not write it.
	admin := sb.producer(t, userAdmin)
	if err := admin.EnsureTopics(t.Context(), topicB); err != nil {
		t.Fatalf("admin EnsureTopics: %v", err)
	}

	a := sb.producer(t, userSite(siteA))
	if err := a.EnsureTopics(t.Context(), topicA, Topic(siteA, ResourceSubject)); err != nil {
		t.Fatalf("A creating its own topics: %v", err)
	}
	if err := publishWithin(t, a, 10*time.Second, testMessages(5, topicA)); err != nil {
		t.Fatalf("A publishing to its own topic: %v", err)
	}

	t.Run("publish to another establishment's topic", func(t *testing.T) {
		err := publishWithin(t, a, 10*time.Second, testMessages(2, topicA, topicB))
		if err == nil {
			t.Fatal("A published to B's topic; want TOPIC_AUTHORIZATION_FAILED")
		}
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("error %v, want TOPIC_AUTHORIZATION_FAILED", err)
		}
		if !IsPermanent(err) {
			t.Errorf("error %v is not permanent", err)
		}
		for _, want := range []string{topicB, "it4ct.site.<its FINESS>"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
	t.Run("create another establishment's topic", func(t *testing.T) {
		err := a.EnsureTopics(t.Context(), Topic(siteB, ResourceSubject))
		if !errors.Is(err, kerr.TopicAuthorizationFailed) || !IsPermanent(err) {
			t.Errorf("EnsureTopics of B's topic with A's credential: %v, want a permanent TOPIC_AUTHORIZATION_FAILED", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "wrong")
		if err := os.WriteFile(bad, []byte("not-the-password"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := newTestProducer(t, sb.Broker, ProducerSASL(&SASLConfig{Mechanism: MechanismScramSHA512, Username: userSite(siteA), PasswordFile: bad}))
		err := publishWithin(t, p, 10*time.Second, testMessages(1, topicA))
		if !errors.Is(err, kerr.SaslAuthenticationFailed) || !IsPermanent(err) {
			t.Errorf("publish with a wrong password: %v, want a permanent SASL_AUTHENTICATION_FAILED", err)
		}
		if strings.Contains(fmt.Sprint(err), "not-the-password") {
			t.Errorf("error %q reveals the password", err)
		}
	})
	t.Run("aggregator cannot write", func(t *testing.T) {
		p := sb.producer(t, userAggregator)
		err := publishWithin(t, p, 10*time.Second, testMessages(1, topicA))
		if !IsPermanent(err) {
			t.Errorf("publish with the aggregator credential: %v, want a permanent authorization error", err)
		}
	})
}

// TestAggregatorCredentialReadsEverySite: each establishment publishes
// with its own credential; the aggregator's reads both.
func TestAggregatorCredentialReadsEverySite(t *testing.T) {
	sb := startSecureBroker(t, nil, nil)
	publishAsSites(t, sb)
	h := newMemHandler()
	runConsume(t, sb.consumerConfig(userAggregator), h)
	waitFor(t, 15*time.Second, "6 records from two sites", func() bool { return h.len() >= 6 })
	checkSites(t, h.records())
}

func publishAsSites(t *testing.T, sb *secureBroker) {
	t.Helper()
	for _, site := range []string{siteA, siteB} {
		p := sb.producer(t, userSite(site))
		topic := Topic(site, ResourceStudy)
		if err := p.EnsureTopics(t.Context(), topic); err != nil {
			t.Fatalf("%s EnsureTopics: %v", site, err)
		}
		if err := publishWithin(t, p, 10*time.Second, testMessages(3, topic)); err != nil {
			t.Fatalf("%s Publish: %v", site, err)
		}
	}
}

func checkSites(t *testing.T, recs []Record) {
	t.Helper()
	checkNoDuplicates(t, recs)
	per := map[string]int{}
	for _, r := range recs {
		f, _, ok := ParseTopic(r.Topic)
		if !ok {
			t.Errorf("record from unexpected topic %s", r.Topic)
		}
		per[f]++
	}
	if per[siteA] != 3 || per[siteB] != 3 {
		t.Errorf("records per site %v, want 3 from %s and 3 from %s", per, siteA, siteB)
	}
}

func TestAggregatorWithoutCredentialReadsNothing(t *testing.T) {
	sb := startSecureBroker(t, nil, nil)
	publishAsSites(t, sb)
	// A's credential may not read (not even B's topics, nor its own).
	h := newMemHandler()
	cfg := sb.consumerConfig(userSite(siteA))
	stop := runConsume(t, cfg, h)
	// Proof of absence needs a wait: give the consumer the time the
	// positive test needs to read everything, then check it read nothing.
	time.Sleep(1500 * time.Millisecond)
	stop()
	if n := h.len(); n != 0 {
		t.Errorf("establishment credential consumed %d records, want 0", n)
	}
}

// TestTLSAndSCRAM: the broker accepts only TLS, signed by a CA generated
// here; clients trust that CA from a file and authenticate with SCRAM.
func TestTLSAndSCRAM(t *testing.T) {
	serverTLS, caFile := testPKI(t)
	sb := startSecureBroker(t, serverTLS, &TLSConfig{CAFile: caFile})
	publishAsSites(t, sb)
	h := newMemHandler()
	runConsume(t, sb.consumerConfig(userAggregator), h)
	waitFor(t, 15*time.Second, "6 records over TLS", func() bool { return h.len() >= 6 })
	checkSites(t, h.records())

	t.Run("client not trusting the CA", func(t *testing.T) {
		_, otherCA := testPKI(t) // a CA the broker's certificate is not signed by
		p := newTestProducer(t, sb.Broker, ProducerSASL(sb.sasl(userSite(siteA))), ProducerTLS(&TLSConfig{CAFile: otherCA}))
		err := publishWithin(t, p, 10*time.Second, testMessages(1, Topic(siteA, ResourceStudy)))
		var uae x509.UnknownAuthorityError
		if !errors.As(err, &uae) || !IsPermanent(err) {
			t.Errorf("publish trusting another CA: %v, want a permanent x509 unknown-authority error", err)
		}
	})
}

// testPKI returns a server TLS config for 127.0.0.1 signed by a fresh CA,
// and the path of that CA's PEM file.
func testPKI(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "it4ct test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kafka.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
	}, caFile
}

func TestClientConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ClientConfig
		want []string // every error line; none: valid
	}{
		{"plaintext", ClientConfig{Brokers: []string{"k:9092"}}, nil},
		{"full", ClientConfig{Brokers: []string{"k:9093"}, TLS: &TLSConfig{CAFile: "ca.pem"},
			SASL: &SASLConfig{Mechanism: MechanismScramSHA512, Username: "u", PasswordEnv: "P"}}, nil},
		{"everything wrong", ClientConfig{Brokers: []string{"k"}, TLS: &TLSConfig{CertFile: "c.pem"},
			SASL: &SASLConfig{Mechanism: "scram-sha-512", PasswordFile: "f", PasswordEnv: "P"}}, []string{
			`kafka.brokers[0]: "k" is not host:port (e.g. kafka.example:9093)`,
			"kafka.tls.cert_file: cert_file and key_file go together (client certificate for mutual TLS): set both or neither",
			`kafka.sasl.mechanism: unknown mechanism "scram-sha-512" (known: SCRAM-SHA-512, SCRAM-SHA-256, PLAIN); did you mean "SCRAM-SHA-512"?`,
			"kafka.sasl.username: missing: the Kafka user of this client (e.g. it4ct-<FINESS>)",
			"kafka.sasl: set exactly one of password_file or password_env (the password itself never goes in the config)",
		}},
		{"no brokers, no password", ClientConfig{SASL: &SASLConfig{Mechanism: MechanismPlain, Username: "u"}}, []string{
			"kafka.brokers: missing: list the broker addresses (host:port)",
			"kafka.sasl: set exactly one of password_file or password_env (the password itself never goes in the config)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.ValidateAt("kafka")
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestClientConfigOptsReadsSecrets(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IT4CT_TEST_KAFKA_PASSWORD", "s3cret-from-env")
	sasl := func(f, env string) *SASLConfig {
		return &SASLConfig{Mechanism: MechanismScramSHA256, Username: "u", PasswordFile: f, PasswordEnv: env}
	}
	tests := []struct {
		name string
		cfg  ClientConfig
		want string // error substring; "" means no error
	}{
		{"password from env", ClientConfig{Brokers: []string{"k:1"}, SASL: sasl("", "IT4CT_TEST_KAFKA_PASSWORD")}, ""},
		{"env unset", ClientConfig{Brokers: []string{"k:1"}, SASL: sasl("", "IT4CT_TEST_UNSET_VARIABLE")}, "sasl.password_env: environment variable IT4CT_TEST_UNSET_VARIABLE is not set or empty"},
		{"missing file", ClientConfig{Brokers: []string{"k:1"}, SASL: sasl(filepath.Join(dir, "nope"), "")}, "sasl.password_file: open " + filepath.Join(dir, "nope")},
		{"empty file", ClientConfig{Brokers: []string{"k:1"}, SASL: sasl(empty, "")}, "sasl.password_file: " + empty + " is empty"},
		{"CA not PEM", ClientConfig{Brokers: []string{"k:1"}, TLS: &TLSConfig{CAFile: notPEM}}, "tls.ca_file: " + notPEM + " holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.cfg.Opts()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Opts: %v", err)
			case tt.want == "" && len(opts) != 2:
				t.Errorf("Opts returned %d options, want seed brokers and SASL", len(opts))
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Opts error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSecretRedacts(t *testing.T) {
	s := Secret("hunter2-password")
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "password", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "password", s, "cfg", struct{ P Secret }{s})
	outs := []string{fmt.Sprint(s), fmt.Sprintf("%v %s %+v %#v %q", s, s, s, s, s), fmt.Sprintf("%+v", struct{ P Secret }{s}), buf.String()}
	for _, out := range outs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("output %q does not say [redacted]", out)
		}
	}
	if s.Reveal() != "hunter2-password" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

// TestAuthWatchClassifies: Kafka answers a wrong password with
// SASL_AUTHENTICATION_FAILED (kfake closes the connection instead, covered
// above); network errors stay retryable.
func TestAuthWatchClassifies(t *testing.T) {
	meta := kgo.BrokerMetadata{Host: "kafka.test", Port: 9093}
	tests := []struct {
		name      string
		sasl      bool
		conn      bool
		err       error
		times     int
		permanent bool
	}{
		{"sasl authentication failed", true, true, kerr.SaslAuthenticationFailed, 1, true},
		{"dial refused", true, false, errors.New("connection refused"), 5, false},
		{"closed during init, twice", true, true, io.EOF, 2, false},
		{"closed during init, three times", true, true, io.EOF, 3, true},
		{"closed during init, no SASL", false, true, io.EOF, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newAuthWatch(tt.sasl)
			var conn net.Conn
			if tt.conn {
				c1, c2 := net.Pipe()
				defer c1.Close()
				defer c2.Close()
				conn = c1
			}
			for range tt.times {
				w.OnBrokerConnect(meta, 0, conn, tt.err)
			}
			var got error
			select {
			case got = <-w.failed:
			default:
			}
			if (got != nil) != tt.permanent || (got != nil && !IsPermanent(got)) {
				t.Errorf("reported %v, want permanent=%v", got, tt.permanent)
			}
			if got != nil && !strings.Contains(got.Error(), "kafka.test:9093") {
				t.Errorf("error %q does not name the broker", got)
			}
		})
	}
}
