package dev.panbuf.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bench/ratios.png}: for every target expressed as a
 * ratio, the measured time ratio to the baseline as a bar (green when met, red
 * when not) and the target as a marker, on a logarithmic axis.
 */
final class Chart {

    private static final Color MET = new Color(0x2e, 0x7d, 0x32);
    private static final Color MISSED = new Color(0xc6, 0x28, 0x28);

    private Chart() {}

    static void write(Report report, Path png) throws IOException {
        List<String> labels = new ArrayList<>();
        List<Double> met = new ArrayList<>();
        List<Double> missed = new ArrayList<>();
        List<Double> target = new ArrayList<>();
        for (Report.Verdict v : report.verdicts()) {
            if (Double.isNaN(v.goal().maxRatio()) || v.met() == null || Double.isNaN(v.ratio())) {
                continue;
            }
            String params = String.join(",", v.c().params().values());
            labels.add(v.c().type().getSimpleName().replace("Benchmark", "") + "." + v.c().method()
                    + (params.isEmpty() ? "" : " " + params) + " / " + v.baseline());
            // NaN, not null: XChart draws nothing for it and a log axis accepts it.
            met.add(v.met() ? v.ratio() : Double.NaN);
            missed.add(v.met() ? Double.NaN : v.ratio());
            target.add(v.goal().maxRatio());
        }
        if (labels.isEmpty()) {
            return;
        }
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(900, 48 * labels.size() + 200)).height(900)
                .title("panbuf: time per operation ÷ its baseline's, same run (lower is faster; bars ≤ marker meet the target)")
                .yAxisTitle("time ratio to baseline (log scale)").build();
        chart.getStyler().setYAxisLogarithmic(true);
        // Bars start at 0 unless told otherwise, which a log axis refuses: span whole decades instead.
        double low = Double.MAX_VALUE;
        double high = 0;
        for (List<Double> series : List.of(met, missed, target)) {
            for (double v : series) {
                if (v > 0) {
                    low = Math.min(low, v);
                    high = Math.max(high, v);
                }
            }
        }
        chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(low))));
        chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(high * 1.01))));
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setXAxisLabelRotation(75);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        chart.getStyler().setAvailableSpaceFill(0.7);
        chart.getStyler().setYAxisDecimalPattern("0.######");
        CategorySeries m = chart.addSeries("met", labels, met);
        m.setFillColor(MET);
        CategorySeries x = chart.addSeries("not met", labels, missed);
        x.setFillColor(MISSED);
        CategorySeries t = chart.addSeries("target", labels, target);
        t.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Scatter);
        t.setMarker(SeriesMarkers.DIAMOND);
        t.setMarkerColor(Color.BLACK);
        // PNG: XChart's SVG draws every glyph as a path, some megabytes for this chart.
        BitmapEncoder.saveBitmap(chart, png.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
    }
}
