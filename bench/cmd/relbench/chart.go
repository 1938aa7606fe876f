package main

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writerChart plots overwrite throughput against writer count, one line
// per contender.
func writerChart(rows []row, path string) error {
	p := plot.New()
	p.Title.Text = "Overwrite by profile id, durable commits"
	p.X.Label.Text = "writers"
	p.Y.Label.Text = "operations / s"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{}
	var args []any
	for _, name := range []string{"relgraph", "sqlite", "bbolt-put", "relgraph-http"} {
		var pts plotter.XYs
		for _, r := range rows {
			if r.Workload == "overwrite by profile id" && r.Contender == name && r.OpsPerSec > 0 {
				pts = append(pts, plotter.XY{X: float64(r.Writers), Y: r.OpsPerSec})
			}
		}
		if len(pts) > 0 {
			args = append(args, name, pts)
		}
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// sizeChart plots relgraph overwrite throughput against store size.
func sizeChart(rows []row, path string) error {
	p := plot.New()
	p.Title.Text = "relgraph overwrite by id against store size"
	p.X.Label.Text = "profiles per database"
	p.Y.Label.Text = "operations / s"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{}
	var args []any
	for _, w := range []int{1, 32} {
		var pts plotter.XYs
		for _, r := range rows {
			var n int
			if _, err := fmt.Sscanf(r.Workload[strings.Index(r.Workload, "of ")+3:], "%d", &n); err == nil && r.Writers == w {
				pts = append(pts, plotter.XY{X: float64(n), Y: r.OpsPerSec})
			}
		}
		if len(pts) > 0 {
			args = append(args, fmt.Sprintf("%d writers", w), pts)
		}
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
