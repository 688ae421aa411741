package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultBrokerAddr is where the embedded broker listens unless told
// otherwise: the Kafka port, on loopback only.
const DefaultBrokerAddr = "127.0.0.1:9092"

// BrokerConfig configures the embedded broker.
type BrokerConfig struct {
	// DataDir holds the broker's topics, records, committed group offsets
	// and producer state; a broker restarted on the same directory resumes
	// where it stopped. Empty keeps everything in memory (tests only).
	DataDir string
	// Addr is the host:port to listen on; default DefaultBrokerAddr. Port 0
	// picks a free port (see Broker.Addrs).
	Addr string
	// Advertise is the host:port the broker tells clients to connect to in
	// metadata responses. Default: Addr as bound, with a wildcard host
	// (0.0.0.0, ::, empty) replaced by 127.0.0.1. Set it when clients on
	// other machines connect through a name or address other than Addr.
	Advertise string
	// CompactInterval is how often topics with cleanup.policy=compact are
	// compacted; default (0) is the broker's one hour.
	CompactInterval time.Duration
	// Logger receives the broker's warnings and errors (its per-request
	// chatter at debug level). Default: discard.
	Logger *slog.Logger
	// Users, when not empty, makes the broker require SASL
	// authentication and enforce ACLs: a user may do only what its ACLs
	// (or being a superuser) allow. Empty: anyone may do anything.
	Users []BrokerUser
	// TLS, when set, makes the broker accept TLS connections only, with
	// this server configuration (certificate, client CAs).
	TLS *tls.Config
}

// BrokerUser is a SASL user of the embedded broker.
type BrokerUser struct {
	// Mechanism is SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN.
	Mechanism string
	Name      string
	Password  Secret
	// Superuser bypasses every ACL (an operator, or a test).
	Superuser bool
	// ACLs are what the user may do; their Principal is ignored and set
	// to User:<Name>. See EstablishmentACLs and AggregatorACLs.
	ACLs []kfake.ACL
}

// EstablishmentACLs are the rights of an establishment's connector user:
// create, describe and write the topics prefixed "it4ct.site.<FINESS>."
// and nothing else: it cannot write, nor even read, another
// establishment's topics. The same ACLs on a real Kafka are in
// docs/kafka-security.md.
func EstablishmentACLs(finess string) []kfake.ACL {
	prefix := TopicPrefix + strings.ToUpper(finess) + "."
	acl := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: prefix,
			Pattern: kmsg.ACLResourcePatternTypePrefixed, Operation: op, Allow: true}
	}
	return []kfake.ACL{acl(kmsg.ACLOperationWrite), acl(kmsg.ACLOperationDescribe), acl(kmsg.ACLOperationCreate)}
}

// AggregatorACLs are the rights of the national aggregator's user: read
// (and describe) every topic prefixed "it4ct.site.", and read the
// consumer group (DefaultGroup when group is empty). It cannot write.
func AggregatorACLs(group string) []kfake.ACL {
	if group == "" {
		group = DefaultGroup
	}
	return []kfake.ACL{
		{Resource: kmsg.ACLResourceTypeTopic, Name: TopicPrefix, Pattern: kmsg.ACLResourcePatternTypePrefixed,
			Operation: kmsg.ACLOperationRead, Allow: true},
		{Resource: kmsg.ACLResourceTypeGroup, Name: group, Pattern: kmsg.ACLResourcePatternTypeLiteral,
			Operation: kmsg.ACLOperationRead, Allow: true},
	}
}

// Broker is an embedded single-node broker speaking the Kafka protocol
// (franz-go's kfake), good enough for the demo and tests: kgo, kafka-go and
// librdkafka clients (kcat) can produce to and consume from it. It is not a
// production broker: one node, no replication.
type Broker struct {
	cluster *kfake.Cluster
	log     *slog.Logger
	once    sync.Once
}

// StartBroker starts a broker listening on cfg.Addr, reloading any state
// persisted in cfg.DataDir. The broker runs until Close; ctx only bounds the
// start. The error names the address when the port is already taken.
func StartBroker(ctx context.Context, cfg BrokerConfig) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultBrokerAddr
	}
	log := cfg.Logger
	if log == nil {
		log = discardLogger()
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("start broker: listen address %q is not host:port: %w", addr, err)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("start broker: %s is in use: pass --kafka-addr with a free host:port (port 0 picks any), or stop the other process: %w", addr, err)
		}
		return nil, fmt.Errorf("start broker: listen on %s: %w", addr, err)
	}
	adv, err := advertised(cfg.Advertise, ln.Addr())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start broker: %w", err)
	}
	var handed bool
	listen := func(string, string) (net.Listener, error) {
		// kfake asks for 127.0.0.1:<port>; we already hold the socket
		// the caller asked for, and kfake advertises its Addr().
		if handed {
			return nil, errors.New("embedded broker has a single listener")
		}
		handed = true
		return advertisingListener{Listener: ln, addr: adv}, nil
	}

	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.WithLogger(kfakeLogger{l: log.With("component", "kfake")}),
		kfake.ClusterID("it4ct-embedded"),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.TLS != nil {
		opts = append(opts, kfake.TLS(cfg.TLS))
	}
	if len(cfg.Users) > 0 {
		uopts, err := userOpts(cfg.Users)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("start broker: %w", err)
		}
		opts = append(opts, uopts...)
	}
	if cfg.CompactInterval > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.FormatInt(cfg.CompactInterval.Milliseconds(), 10),
		}))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		ln.Close() // kfake closes it too on most paths; closing twice is harmless
		return nil, fmt.Errorf("start broker (data dir %q): %w", cfg.DataDir, err)
	}
	b := &Broker{cluster: c, log: log}
	log.Info("embedded kafka broker started", "addr", ln.Addr().String(), "advertised", adv.String(), "data_dir", cfg.DataDir,
		"tls", cfg.TLS != nil, "sasl_users", len(cfg.Users))
	return b, nil
}

// Addrs returns the host:port clients should bootstrap from (the advertised
// address).
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Compact compacts every topic whose cleanup.policy is compact now, rather
// than on the CompactInterval tick: per key only the newest record survives,
// except in each partition's newest batch, which is never compacted.
func (b *Broker) Compact() { b.cluster.Compact() }

// Close stops the broker and writes its state to the data dir. It is safe
// to call more than once; only the first call does anything.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.cluster.Close()
		b.log.Info("embedded kafka broker stopped")
	})
	return nil
}

// userOpts turns users into kfake options enabling SASL and ACLs.
func userOpts(users []BrokerUser) ([]kfake.Opt, error) {
	opts := []kfake.Opt{kfake.EnableSASL(), kfake.EnableACLs()}
	seen := map[string]bool{}
	for i, u := range users {
		switch u.Mechanism {
		case MechanismScramSHA512, MechanismScramSHA256, MechanismPlain:
		default:
			return nil, fmt.Errorf("users[%d] (%s): unknown SASL mechanism %q (known: SCRAM-SHA-512, SCRAM-SHA-256, PLAIN)", i, u.Name, u.Mechanism)
		}
		if u.Name == "" || u.Password == "" {
			return nil, fmt.Errorf("users[%d]: name and password are required", i)
		}
		if seen[u.Mechanism+"/"+u.Name] {
			return nil, fmt.Errorf("users[%d]: duplicate user %s (%s)", i, u.Name, u.Mechanism)
		}
		seen[u.Mechanism+"/"+u.Name] = true
		if u.Superuser {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password.Reveal()))
			continue
		}
		opts = append(opts, kfake.User(u.Mechanism, u.Name, u.Password.Reveal(), u.ACLs...))
	}
	return opts, nil
}

// advertised returns the address to put in metadata.
func advertised(adv string, bound net.Addr) (net.Addr, error) {
	if adv != "" {
		if _, _, err := net.SplitHostPort(adv); err != nil {
			return nil, fmt.Errorf("advertised address %q is not host:port: %w", adv, err)
		}
		return tcpName(adv), nil
	}
	host, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return nil, fmt.Errorf("bound address %q: %w", bound, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return tcpName(net.JoinHostPort(host, port)), nil
}

// tcpName is a net.Addr that may hold a host name.
type tcpName string

func (tcpName) Network() string  { return "tcp" }
func (a tcpName) String() string { return string(a) }

// advertisingListener reports the advertised address as its own: kfake
// puts the listener's address in metadata responses.
type advertisingListener struct {
	net.Listener
	addr net.Addr
}

func (l advertisingListener) Addr() net.Addr { return l.addr }
