package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"permgraph/config"
	"permgraph/detect/alertstore"
	"permgraph/detect/rules"
	"permgraph/stream"
)

// kafkaFlags are the connection flags shared by detect, forward and
// snapshot (with a prefix there). Passwords come from an environment
// variable or a file, never a flag.
type kafkaFlags struct {
	brokers string
	c       stream.Client
}

func addKafkaFlags(f *pflag.FlagSet, k *kafkaFlags, prefix string) {
	f.StringVar(&k.brokers, prefix+"brokers", "", "Kafka bootstrap brokers, comma-separated (host:port)")
	f.BoolVar(&k.c.TLS, prefix+"tls", false, "connect with TLS (system CAs unless --"+prefix+"tls-ca)")
	f.StringVar(&k.c.TLSCA, prefix+"tls-ca", "", "PEM file of CAs to trust")
	f.StringVar(&k.c.TLSCert, prefix+"tls-cert", "", "client certificate (PEM) for mutual TLS")
	f.StringVar(&k.c.TLSKey, prefix+"tls-key", "", "client key (PEM) for mutual TLS")
	f.StringVar(&k.c.SASL, prefix+"sasl", "", "SASL mechanism: "+strings.Join(stream.Mechanisms(), ", "))
	f.StringVar(&k.c.User, prefix+"user", "", "SASL user")
	f.StringVar(&k.c.PasswordEnv, prefix+"password-env", "PERMGRAPH_KAFKA_PASSWORD", "environment variable holding the SASL password")
	f.StringVar(&k.c.PasswordFile, prefix+"password-file", "", "file holding the SASL password (instead of the environment)")
}

func (k *kafkaFlags) set() bool { return k.brokers != "" }

func (k *kafkaFlags) connect(ctx context.Context, g *globalOptions) (stream.Conn, error) {
	for _, b := range strings.Split(k.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			k.c.Brokers = append(k.c.Brokers, b)
		}
	}
	conn, err := k.c.Connect(ctx, g.logger)
	if err != nil {
		return stream.Conn{}, usageError{err}
	}
	return conn, nil
}

// detectKafkaOptions are detect's consumer-group flags.
type detectKafkaOptions struct {
	kafka       kafkaFlags
	Topic       string
	Group       string
	ViewsTopic  string
	AlertsTopic string
	StateTopic  string
	NoStdout    bool
	StateWindow string
	MaxViewAge  string
	ViewDir     string
}

func addDetectKafkaFlags(f *pflag.FlagSet, o *detectKafkaOptions) {
	addKafkaFlags(f, &o.kafka, "kafka-")
	f.StringVar(&o.Topic, "topic", "", "with --kafka-brokers: the audit-event topic to consume")
	f.StringVar(&o.Group, "group", "permgraph-detect", "with --kafka-brokers: the consumer group replicas share")
	f.StringVar(&o.ViewsTopic, "views-topic", "", "with --kafka-brokers: the compacted topic the snapshot job publishes views to (default: the local store)")
	f.StringVar(&o.AlertsTopic, "alerts-topic", "", "with --kafka-brokers: produce alerts as JSON to this topic (key: alert id)")
	f.StringVar(&o.StateTopic, "state-topic", "", "with --kafka-brokers: compacted topic keeping each partition's first-seen baseline (R02, R06) across takeovers (default <topic>.state; \"none\" disables)")
	f.BoolVar(&o.NoStdout, "no-stdout", false, "with --alerts-topic: do not also print alerts on stdout")
	f.StringVar(&o.StateWindow, "state-window", "24h", "event time a replica replays before a partition's committed offset to rebuild rule state")
	f.StringVar(&o.MaxViewAge, "max-view-age", "24h", "alerts judged against a view older than this (relative to the event) are marked stale")
	f.StringVar(&o.ViewDir, "view-dir", "", "where views received from --views-topic are kept (default: a temporary directory)")
}

// runDetectKafka is `detect --kafka-brokers`: a consumer-group replica.
func runDetectKafka(ctx context.Context, g *globalOptions, o detectOptions, ko detectKafkaOptions) error {
	if ko.Topic == "" {
		return usagef("--kafka-brokers needs --topic")
	}
	if ko.NoStdout && ko.AlertsTopic == "" && o.NoStore {
		return usagef("--no-stdout without --alerts-topic and with --no-store drops every alert")
	}
	cfg, err := loadRulesConfig(o)
	if err != nil {
		return err
	}
	stateWindow, err := parseDuration(ko.StateWindow)
	if err != nil {
		return err
	}
	maxAge, err := parseDuration(ko.MaxViewAge)
	if err != nil {
		return err
	}
	stateTopic := ko.StateTopic
	switch stateTopic {
	case "":
		stateTopic = ko.Topic + ".state"
	case "none":
		stateTopic = ""
	}
	if stateTopic == ko.Topic || (stateTopic != "" && (stateTopic == ko.AlertsTopic || stateTopic == ko.ViewsTopic)) {
		return usagef("--state-topic %s is also the events, alerts or views topic", stateTopic)
	}
	conn, err := ko.kafka.connect(ctx, g)
	if err != nil {
		return err
	}
	d := &stream.Detector{Conn: conn, Topic: ko.Topic, Group: ko.Group, Config: cfg, StateWindow: stateWindow, MaxViewAge: maxAge,
		AlertsTopic: ko.AlertsTopic, StateTopic: stateTopic, Log: g.logger}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if ko.ViewsTopic != "" {
		vs := stream.NewViewSet(conn, ko.ViewsTopic, g.logger)
		vs.Dir = ko.ViewDir
		errc := make(chan error, 1)
		go func() { errc <- vs.Follow(ctx) }()
		defer func() { cancel(); <-errc }()
		d.Views = vs
	} else if v, err := loadLocalView(ctx, g); err == nil {
		d.Views = v
	} else {
		g.logger.Warn("no views topic and no local view: every actor is unresolved", "err", err)
	}
	var sinks stream.Sinks
	if !o.NoStore {
		as, err := alertstore.Open(ctx, filepath.Join(g.DB, "alerts"), g.logger)
		if err != nil {
			return err
		}
		defer as.Close()
		sinks = append(sinks, stream.StoreSink{Store: as})
	}
	if ko.AlertsTopic != "" {
		pc, err := conn.NewClient()
		if err != nil {
			return err
		}
		defer pc.Close()
		sinks = append(sinks, stream.TopicSink{Client: pc, Topic: ko.AlertsTopic})
	}
	if !ko.NoStdout {
		sinks = append(sinks, &stream.WriterSink{W: g.stdout})
	}
	d.Sink = sinks
	start := time.Now()
	err = d.Run(ctx)
	s := d.Stats()
	el := time.Since(start).Seconds()
	fmt.Fprintf(g.stderr, "detect: kafka %s: %d records, %d events (%.0f/s), %d alerts, %d deduplicated, %d malformed, %d takeovers replaying %d records in %s, %d baseline state records loaded, %d written\n",
		termSafe(ko.Topic), s.Records, s.Events, float64(s.Events)/max(el, 1e-9), s.Alerts, s.Deduped, s.Malformed, s.Assignments, s.Replayed, s.ReplayTime.Round(time.Millisecond), s.StateLoaded, s.StateWritten)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// loadLocalView serves the store's latest view (no views topic: one
// machine, or a shared filesystem).
func loadLocalView(ctx context.Context, g *globalOptions) (*stream.ViewSet, error) {
	return stream.LocalViewSet(ctx, g.DB, g.logger)
}

// loadRulesConfig reads --rules and --config as runDetect does.
func loadRulesConfig(o detectOptions) (rules.Config, error) {
	var cfg rules.Config
	if o.Config != "" {
		b, err := os.ReadFile(o.Config)
		if err != nil {
			return cfg, fmt.Errorf("detect: read rules config: %w", err)
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			return cfg, fmt.Errorf("detect: rules config %s: %w", o.Config, err)
		}
	}
	if o.JobConfig != "" {
		jc, err := config.Load(o.JobConfig)
		if err != nil {
			return cfg, usageError{fmt.Errorf("detect: %w", err)}
		}
		if jc.Detection != nil {
			cfg.Collectors = append(cfg.Collectors, jc.Detection.Collectors...)
			cfg.ApprovedDeployers = append(cfg.ApprovedDeployers, jc.Detection.ApprovedDeployers...)
		}
	}
	if _, err := rules.RulesFromConfig(cfg, nil); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// publishFlags are snapshot's --publish-kafka-* flags.
type publishFlags struct {
	kafka kafkaFlags
	Topic string
	Chunk int
}

func addPublishFlags(f *pflag.FlagSet, p *publishFlags) {
	addKafkaFlags(f, &p.kafka, "publish-kafka-")
	f.StringVar(&p.Topic, "publish-topic", "permgraph-views", "with --publish-kafka-brokers: the compacted topic each new latest view is published to")
	f.IntVar(&p.Chunk, "publish-chunk-bytes", stream.DefaultChunkBytes, "largest view chunk per message (below the brokers' message.max.bytes)")
}

// viewPublisher returns a function publishing the store's latest view
// after each run (nil when not configured).
func (p *publishFlags) publisher(ctx context.Context, g *globalOptions) (func(context.Context) error, func(), error) {
	if !p.kafka.set() {
		return nil, func() {}, nil
	}
	conn, err := p.kafka.connect(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	cl, err := conn.NewClient()
	if err != nil {
		return nil, nil, err
	}
	if err := stream.EnsureTopic(ctx, cl, p.Topic, 1, true); err != nil {
		cl.Close()
		return nil, nil, err
	}
	pub := &stream.Publisher{Conn: conn, Client: cl, Topic: p.Topic, ChunkBytes: p.Chunk, Log: g.logger}
	return func(ctx context.Context) error {
		_, _, err := pub.PublishStore(ctx, g.DB)
		return err
	}, cl.Close, nil
}
