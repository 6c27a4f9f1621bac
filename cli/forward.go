package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/read"
	"permgraph/graph"
	"permgraph/stream"
)

type forwardOptions struct {
	kafka      kafkaFlags
	Topic      string
	Format     string
	Partitions int32
	RawKeys    bool
}

func newForwardCommand(g *globalOptions) *cobra.Command {
	var o forwardOptions
	cmd := &cobra.Command{
		Use:   "forward [FILE|DIR|-] --kafka-brokers B --topic T",
		Short: "Produce audit logs to Kafka as normalized events keyed by actor (for detect --kafka-brokers)",
		Long: `Reads audit logs in any format detect reads (auto-detected, gzip-aware) and
produces one record per normalized event, keyed by the actor: the graph node
the rules resolve it to in the store's latest view when there is one, else a
canonical form of the raw actor (docs/kafka.md). Every event of a principal
then lands on one partition, which is where its rule state lives.`,
		Example: `  permgraph forward logs/ --kafka-brokers k1:9092 --topic audit
  zcat trail.json.gz | permgraph forward - --kafka-brokers k1:9092 --topic audit`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !o.kafka.set() || o.Topic == "" {
				return usagef("forward needs --kafka-brokers and --topic")
			}
			path := "-"
			if len(args) == 1 {
				path = args[0]
			}
			conn, err := o.kafka.connect(ctx, g)
			if err != nil {
				return err
			}
			cl, err := conn.NewClient(kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(kgo.SnappyCompression()))
			if err != nil {
				return err
			}
			defer cl.Close()
			if o.Partitions > 0 {
				if err := stream.EnsureTopic(ctx, cl, o.Topic, o.Partitions, false); err != nil {
					return err
				}
			}
			keyer := stream.NewKeyer(nil)
			if !o.RawKeys {
				if v, err := graph.LoadLatestView(ctx, g.DB, g.logger); err == nil {
					keyer = stream.NewKeyer(v)
				} else {
					g.logger.Info("no latest view: keying by raw actor", "db", g.DB)
				}
			}
			r, err := read.Open(ctx, path, o.Format)
			if err != nil {
				return fmt.Errorf("forward: open %s: %w", path, err)
			}
			defer r.Close()
			start := time.Now()
			st, err := stream.Forward(ctx, cl, o.Topic, r, keyer)
			rs := r.Stats()
			fmt.Fprintf(g.stderr, "forward: %s: %d records, %d events produced to %s (%d actors), %d unknown, %d malformed, %.1f s\n",
				termSafe(path), rs.Records, st.Events, termSafe(o.Topic), st.Keys, rs.Unknown, rs.Malformed, time.Since(start).Seconds())
			for _, p := range rs.Problems {
				fmt.Fprintf(g.stderr, "  %s:%d: %s: %s\n", termSafe(p.File), p.Line, p.Kind, termSafe(p.Reason))
			}
			return err
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &o.kafka, "kafka-")
	f.StringVar(&o.Topic, "topic", "", "topic to produce to")
	f.StringVar(&o.Format, "format", "auto", "log format: auto, "+strings.Join(read.Formats(), ", "))
	f.Int32Var(&o.Partitions, "partitions", 0, "create the topic with this many partitions if it does not exist")
	f.BoolVar(&o.RawKeys, "raw-keys", false, "key by the raw actor even when the store has a view (stable keys across snapshots)")
	return cmd
}
