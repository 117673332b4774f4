using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Spc;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Readings;

namespace RealTimeInference.Server.Alerts;

/// <summary>
/// Feeds every scored reading's monitored values (<see cref="SpcOptions.Monitors"/>) to their
/// context's control chart and its verdicts to the alert rules: a broken rule opens (or joins) its
/// group's alert with the rule and its points, and the normal points of a chart whose sensor the
/// rules follow count towards its resolution (those of the others change nothing, and are left out).
/// With no monitor configured it costs one branch.
/// </summary>
internal sealed class SpcSink(AlertBook book, AlertMetrics metrics, IOptions<SpcOptions> options, TimeProvider time) : IPredictionSink
{
    /// <summary>The alert's model for a chart's verdict.</summary>
    public const string Model = "spc";

    private readonly SpcMonitor[] _monitors = [.. options.Value.Monitors];
    private readonly SpcRule[][] _rules = [.. options.Value.Monitors.Select(m => m.Rules.Count > 0 ? m.Rules.ToArray() : Enum.GetValues<SpcRule>())];
    private readonly ConcurrentDictionary<(string? Tool, string? Chamber, string? Recipe, string? Step), Charts> _contexts = new();
    private int _charts;

    public void Publish(in ScoredBatch scored)
    {
        if (_monitors.Length == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        var readings = scored.Batch.Readings;
        var scores = scored.Batch.Scores.Span;
        var verdicts = new Verdicts(readings.Length * _monitors.Length);
        for (var i = 0; i < readings.Length; i++)
        {
            var reading = readings[i];
            var charts = ChartsOf(reading.ToolId, null, null, null);
            if (charts.Items.Length == 0)
            {
                continue;
            }

            lock (charts.Gate)
            {
                foreach (var charted in charts.Items)
                {
                    var name = _monitors[charted.Monitor].Value;
                    double? value = name switch
                    {
                        "score" => scores[i],
                        "temperature" => reading.Temperature,
                        "pressure" => reading.Pressure,
                        "flow_rate" => reading.FlowRate,
                        _ => null,
                    };
                    if (value is { } v)
                    {
                        var follows = book.Follows(reading.ToolId, null, name);
                        Judge(charted, reading.ToolId, null, null, null, v, scored.Class, now, ref follows, ref verdicts);
                    }
                }
            }
        }

        verdicts.Observe(book);
    }

    public void Publish(in ScoredReadings scored)
    {
        if (_monitors.Length == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        var batch = scored.Batch;
        var readings = batch.Readings;
        var verdicts = new Verdicts(readings.Length * _monitors.Length);
        // Concurrent requests mostly hold the same chambers in the same order: each starts at a run of its
        // own, so that they do not queue chamber after chamber on the same charts' gates; never amid a
        // model's runs, whose readings each chart takes in request order.
        var runs = scored.Runs;
        var first = runs.Length > 1 ? Random.Shared.Next(runs.Length) : 0;
        while (first > 0 && runs[first].Continues)
        {
            first--;
        }

        for (var k = 0; k < runs.Length; k++)
        {
            var run = runs[(first + k) % runs.Length];
            // A run's readings are mostly of one context (a chamber's own model): each stretch of readings
            // of one context is charted chart by chart, with one lookup and one lock.
            var rows = run.Rows;
            for (int start = 0, end; start < rows.Length; start = end)
            {
                var context = readings[rows[start]].Context;
                for (end = start + 1; end < rows.Length && SameCharts(readings[rows[end]].Context, context); end++)
                {
                }

                var charts = ChartsOf(context.ToolId, context.ChamberId, context.Recipe, context.Step);
                if (charts.Items.Length == 0)
                {
                    continue;
                }

                lock (charts.Gate)
                {
                    foreach (var charted in charts.Items)
                    {
                        var name = _monitors[charted.Monitor].Value;
                        var isScore = name == "score";
                        var follows = book.Follows(context.ToolId, context.ChamberId, name);
                        for (var r = start; r < end; r++)
                        {
                            var row = rows[r];
                            if (isScore)
                            {
                                Judge(charted, context.ToolId, context.ChamberId, context.Recipe, context.Step, batch.Scores[row], scored.Class, now, ref follows, ref verdicts);
                            }
                            else if (batch.TryGetValue(readings[row], name, out var value))
                            {
                                Judge(charted, context.ToolId, context.ChamberId, context.Recipe, context.Step, value, scored.Class, now, ref follows, ref verdicts);
                            }
                        }
                    }
                }
            }
        }

        verdicts.Observe(book);
    }

    /// <summary>Whether two readings' contexts have the same charts: the same tool, chamber, recipe and step.</summary>
    private static bool SameCharts(ReadingContext a, ReadingContext b) =>
        ReferenceEquals(a, b) || (a.ToolId == b.ToolId && a.ChamberId == b.ChamberId && a.Recipe == b.Recipe && a.Step == b.Step);

    /// <summary>The charts of the monitors that match a context, made on its first point: one lookup a reading.</summary>
    private Charts ChartsOf(string? tool, string? chamber, string? recipe, string? step)
    {
        var key = (tool, chamber, recipe, step);
        if (_contexts.TryGetValue(key, out var charts))
        {
            return charts;
        }

        var matching = Enumerable.Range(0, _monitors.Length).Where(m => Matches(_monitors[m], tool, chamber, recipe, step)).ToArray();
        if (Interlocked.Add(ref _charts, matching.Length) > options.Value.MaxCharts)
        {
            Interlocked.Add(ref _charts, -matching.Length);
            metrics.Uncharted();
            return Charts.None;
        }

        charts = new Charts([.. matching.Select(m => new Charted(m, new SpcChart(_rules[m], options.Value.BaselinePoints, _monitors[m].Mean, _monitors[m].Sigma)))]);
        var kept = _contexts.GetOrAdd(key, charts);
        if (kept != charts)
        {
            // Another reading of the context made its charts first.
            Interlocked.Add(ref _charts, -matching.Length);
        }

        return kept;
    }

    private static bool Matches(SpcMonitor monitor, string? tool, string? chamber, string? recipe, string? step) =>
        ContextRouter.Matches(monitor.Tool, tool) && ContextRouter.Matches(monitor.Chamber, chamber)
        && ContextRouter.Matches(monitor.Recipe, recipe) && ContextRouter.Matches(monitor.Step, step);

    /// <summary>
    /// Charts one point and adds its verdict once the chart has its limits: a normal one only while the
    /// rules follow the chart's sensor (<paramref name="follows"/>, from <see cref="AlertBook.Follows"/>;
    /// from a broken rule on they do). Called under its context's gate.
    /// </summary>
    private void Judge(
        Charted charted,
        string? tool,
        string? chamber,
        string? recipe,
        string? step,
        double value,
        LatencyClass latencyClass,
        DateTimeOffset now,
        ref bool follows,
        ref Verdicts verdicts)
    {
        var chart = charted.Chart;
        var broken = chart.Add(value, out var z);
        if (chart.Mean is null || (broken is null && !follows))
        {
            return;
        }

        follows = true;
        var evidence = broken is { } rule ? Evidence(rule, chart.Last(SpcChart.Span(rule)), chart.Mean, chart.Sigma, recipe, step) : null;

        // The score is how far out the point lies: the share of an in-control process's points nearer the mean (0.9973 at 3 sigma).
        var name = _monitors[charted.Monitor].Value;
        verdicts.Add(new Verdict(tool, chamber, name, Model, (float)Coverage(Math.Abs(z)), broken is not null, latencyClass, now, broken?.ToString() ?? "SPC", evidence));
    }

    /// <summary>The rule that fired, its points and the chart's limits, put in words only when an alert's timeline takes them.</summary>
    private static Func<string> Evidence(SpcRule rule, IReadOnlyList<double> points, double? mean, double? sigma, string? recipe, string? step) =>
        () => string.Create(
            CultureInfo.InvariantCulture,
            $"{rule}: {string.Join(", ", points.Select(p => p.ToString("G6", CultureInfo.InvariantCulture)))} (mean {mean:G6}, sigma {sigma:G6}; {recipe ?? "any recipe"}, {step ?? "any step"})");

    /// <summary>P(|Z| &lt; z) for a standard normal Z: erf(z / √2), by Abramowitz and Stegun 7.1.26 (error below 1.5e-7).</summary>
    internal static double Coverage(double z)
    {
        var x = z / Math.Sqrt(2);
        var t = 1 / (1 + (0.3275911 * x));
        var poly = t * (0.254829592 + (t * (-0.284496736 + (t * (1.421413741 + (t * (-1.453152027 + (t * 1.061405429))))))));
        return 1 - (poly * Math.Exp(-x * x));
    }

    /// <summary>A monitor's chart for one context.</summary>
    private readonly record struct Charted(int Monitor, SpcChart Chart);

    /// <summary>A context's charts, and the gate that lets one caller at a time chart on them.</summary>
    private sealed class Charts(Charted[] items)
    {
        /// <summary>A context past Spc:MaxCharts: charted on nothing.</summary>
        public static readonly Charts None = new([]);

        public Charted[] Items { get; } = items;

        public Lock Gate { get; } = new();
    }
}
