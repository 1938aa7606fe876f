package main

import (
	"fmt"
	"image/color"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The charts tick the values measured (not powers of ten), start their
// y axes at zero, and keep the legend above the data (the y axis runs
// a third higher than the highest point).

const overwriteWorkload = "overwrite an existing relation, by profile id"

// writerChart plots overwrite throughput (or, with p99, its 99th
// percentile latency) against writer count, one line per contender.
func writerChart(rows []row, path string, p99 bool) error {
	p := plot.New()
	p.Title.Text = "Overwrite an existing relation, durable commits"
	p.X.Label.Text = "writers (log scale)"
	p.Y.Label.Text = "operations / s"
	if p99 {
		p.Title.Text = "Overwrite an existing relation: 99th percentile latency"
		p.Y.Label.Text = "p99 latency (ms)"
	}
	p.X.Scale = plot.LogScale{}
	var args []any
	var xs []float64
	top := 0.0
	for _, name := range []string{"relgraph", "relgraph-bbolt", "relgraph-http", "sqlite", "bbolt-put"} {
		var pts plotter.XYs
		for _, r := range rows {
			if r.Workload == overwriteWorkload && r.Contender == name && r.OpsPerSec > 0 {
				y := r.OpsPerSec
				if p99 {
					y = r.P99us / 1000
				}
				pts = append(pts, plotter.XY{X: float64(r.Writers), Y: y})
				xs = append(xs, float64(r.Writers))
				top = max(top, y)
			}
		}
		if len(pts) > 0 {
			args = append(args, name, pts)
		}
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	p.X.Tick.Marker = measuredTicks(xs)
	return save(p, top, path)
}

// measuredTicks ticks exactly the values measured.
func measuredTicks(xs []float64) plot.ConstantTicks {
	slices.Sort(xs)
	xs = slices.Compact(xs)
	ticks := make(plot.ConstantTicks, len(xs))
	for i, x := range xs {
		ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', -1, 64)}
	}
	return ticks
}

// save sets the y axis from zero to a third above top, puts the legend
// in that band, and writes the chart.
func save(p *plot.Plot, top float64, path string) error {
	p.Y.Min, p.Y.Max = 0, top*1.35
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// sizeChart plots relgraph overwrite throughput against store size.
func sizeChart(rows []row, path string) error {
	p := plot.New()
	p.Title.Text = "relgraph overwrite by id against store size"
	p.X.Label.Text = "profiles per database (log scale)"
	p.Y.Label.Text = "operations / s"
	p.X.Scale = plot.LogScale{}
	var args []any
	var xs []float64
	top := 0.0
	for _, w := range []int{1, 32} {
		var pts plotter.XYs
		for _, r := range rows {
			var n int
			if _, err := fmt.Sscanf(r.Workload[strings.Index(r.Workload, "of ")+3:], "%d", &n); err == nil && r.Writers == w {
				pts = append(pts, plotter.XY{X: float64(n), Y: r.OpsPerSec})
				xs = append(xs, float64(n))
				top = max(top, r.OpsPerSec)
			}
		}
		if len(pts) > 0 {
			args = append(args, fmt.Sprintf("%d writers", w), pts)
		}
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	p.X.Tick.Marker = measuredTicks(xs)
	return save(p, top, path)
}

// sustainedChart plots the sustained run's rate of every second, with
// the seconds in which a checkpoint finished marked.
func sustainedChart(series []second, path string) error {
	p := plot.New()
	p.Title.Text = "Sustained overwrite, 32 writers: operations per second"
	p.X.Label.Text = "seconds"
	p.Y.Label.Text = "operations / s"
	var pts, marks plotter.XYs
	top := 0.0
	for i, s := range series {
		pts = append(pts, plotter.XY{X: float64(s.At), Y: float64(s.OpsPerSec)})
		top = max(top, float64(s.OpsPerSec))
		if i > 0 && s.Checkpointed != series[i-1].Checkpointed {
			marks = append(marks, plotter.XY{X: float64(s.At), Y: float64(s.OpsPerSec)})
		}
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	line.Color = color.RGBA{B: 200, A: 255}
	p.Add(line)
	p.Legend.Add("ops/s", line)
	if len(marks) > 0 {
		sc, err := plotter.NewScatter(marks)
		if err != nil {
			return err
		}
		sc.Color = color.RGBA{R: 200, A: 255}
		p.Add(sc)
		p.Legend.Add("a checkpoint finished", sc)
	}
	return save(p, top, path)
}
