package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"permgraph/detect/alertstore"
	"permgraph/detect/rules"
	"permgraph/graph"
	"permgraph/queries"
	"permgraph/report"
)

// StoreBackend reads the store in dir, opening it read-only per request
// (the latest graph comes from the view cache file without the store's
// lock, so the UI keeps working while a collection runs).
func StoreBackend(dir string, logger *slog.Logger) Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	withStore := func(ctx context.Context, fn func(*graph.Store) error) error {
		st, err := graph.OpenReadOnly(ctx, dir, logger)
		if err != nil {
			return fmt.Errorf("open store %s: %w", dir, err)
		}
		defer st.Close()
		return fn(st)
	}
	latest := func(ctx context.Context) (*graph.View, error) {
		v, err := graph.LoadLatestView(ctx, dir, logger)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, graph.ErrNotFound) {
			logger.Debug("latest view cache unusable; reading the store", "err", err)
		}
		err = withStore(ctx, func(st *graph.Store) error {
			v, err = st.View(ctx, time.Time{})
			return err
		})
		return v, err
	}
	return Backend{
		View: func(ctx context.Context, at time.Time) (*graph.View, error) {
			if at.IsZero() {
				return latest(ctx)
			}
			var v *graph.View
			err := withStore(ctx, func(st *graph.Store) error {
				var err error
				v, err = st.View(ctx, at)
				return err
			})
			return v, err
		},
		Snapshots: func(ctx context.Context) ([]graph.Manifest, error) {
			var ms []graph.Manifest
			err := withStore(ctx, func(st *graph.Store) error {
				var err error
				ms, err = st.Snapshots(ctx)
				return err
			})
			return ms, err
		},
		Diff: func(ctx context.Context, from, to string) (*queries.DiffResult, error) {
			var res *queries.DiffResult
			err := withStore(ctx, func(st *graph.Store) error {
				f, err := report.ParsePoint(ctx, st, from)
				if err != nil {
					return err
				}
				t, err := report.ParsePoint(ctx, st, to)
				if err != nil {
					return err
				}
				var v *graph.View
				if t.IsZero() {
					if v, err = latest(ctx); err != nil {
						return err
					}
				}
				res, err = report.LoadDiff(ctx, st, v, f, t, "")
				return err
			})
			return res, err
		},
		Alerts: func(ctx context.Context) ([]rules.Alert, error) {
			adir := filepath.Join(dir, "alerts")
			if _, err := os.Stat(adir); err != nil {
				return nil, nil
			}
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			as, err := alertstore.Open(ctx, adir, logger)
			if err != nil {
				return nil, err
			}
			defer as.Close()
			return as.List(ctx, alertstore.Filter{})
		},
	}
}
