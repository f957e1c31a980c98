package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// demoTelemetry sets cfg up as the demo server (examples/voiceproxy)
// does, for a profile of what a host runs in this process: the
// OpenTelemetry SDK's meters read by its Prometheus exporter, and Info
// logging through the Service's masking, as text (written nowhere, but
// formatted). stop shuts the meters down.
func demoTelemetry(cfg *proxy.Config) (stop func(), err error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics exporter: %w", err)
	}
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	cfg.Telemetry.MeterProvider = meters
	cfg.Logger = slog.New(proxy.MaskingHandler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))
	return func() { _ = meters.Shutdown(context.Background()) }, nil
}
