using System.Globalization;

namespace RealTimeInference.LoadTest.Reporting;

/// <summary>The human-readable report: one block per scenario, a row per run, then medians and the ratio.</summary>
internal static class ReportTable
{
    private const string Header =
        "run        endpoint                  p50 ms   p90 ms   p99 ms  p99.9 ms    max ms  offered/s achieved/s readings/s      2xx    4xx    429    503    5xx  t/o+err  rss MB start/max/end";

    public static void Write(BenchmarkReport report, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine(Invariant($"Load test against {report.Url}: {report.Mode} loop, {report.Connections} connections, {report.DurationSeconds:0.###}s measured after {report.WarmupSeconds:0.###}s warm-up, {report.Repeats} repeat(s)"));
        if (report.Launch is { } launch)
        {
            output.WriteLine(Invariant($"Launched server: start-to-ready {launch.StartToReadyMs:0.0} ms; log {launch.LogPath}"));
            if (launch.ShutdownMs is { } shutdown)
            {
                output.WriteLine(Invariant($"Stopped with SIGTERM in {shutdown:0.0} ms, exit code {launch.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none (killed)"}"));
            }
        }

        if (report.ServerRss is { } rss)
        {
            output.WriteLine(Invariant($"Server RSS from ready to the end: start {rss.StartMb:0.0} MB, max {rss.MaxMb:0.0} MB, end {rss.EndMb:0.0} MB ({rss.Samples} samples)"));
        }

        foreach (var scenario in report.Scenarios)
        {
            WriteScenario(scenario, output);
        }
    }

    private static void WriteScenario(ScenarioReport scenario, TextWriter output)
    {
        output.WriteLine();
        var rate = scenario.RateRps is { } r ? Invariant($", {r:0.#} requests/s offered") : string.Empty;
        output.WriteLine(Invariant($"== {scenario.Scenario} ({scenario.ReadingsPerRequest} reading(s) per request){rate}"));
        if (scenario.Probe is { } probe)
        {
            output.WriteLine(Invariant($"   probe: max {probe.MaxRps:0.#} requests/s closed-loop; open loop at {probe.Fraction:0.###} of it = {probe.OpenRateRps:0.#} requests/s"));
        }

        output.WriteLine(Header);
        foreach (var run in scenario.Runs)
        {
            WriteRun(run, output);
        }

        if (scenario.Baseline is { } baseline)
        {
            WriteMedian("med base", scenario.BaselineEndpoint!, baseline, output);
        }

        WriteMedian("med tgt", scenario.TargetEndpoint, scenario.Target, output);
        if (scenario.TargetOverBaseline is { } ratio)
        {
            output.WriteLine(Invariant(
                $"{"ratio t/b",-10} {"target / baseline",-24} {Ratio(ratio.P50),8} {Ratio(ratio.P90),8} {Ratio(ratio.P99),8} {Ratio(ratio.P999),9} {Ratio(ratio.Max),9} {string.Empty,10} {Ratio(ratio.AchievedRps),10}"));
        }

        foreach (var run in scenario.Runs.Where(r => r.Measurement.CapDelayed > 0 || r.Measurement.Unsent > 0))
        {
            output.WriteLine(Invariant($"   note: {run.Role} repeat {run.Repeat}: {run.Measurement.CapDelayed} sends waited on --max-outstanding, {run.Measurement.Unsent} never sent"));
        }
    }

    private static void WriteRun(RunResult run, TextWriter output)
    {
        var m = run.Measurement;
        var c = m.Counts;
        var label = Invariant($"{run.Repeat} {(run.Role == "target" ? "tgt" : "base")}");
        var offered = m.OfferedRps is { } o ? o.ToString("0.#", CultureInfo.InvariantCulture) : "-";
        var rss = run.ServerRss is { } s ? Invariant($"{s.StartMb:0.0}/{s.MaxMb:0.0}/{s.EndMb:0.0}") : "-";
        output.WriteLine(Invariant(
            $"{label,-10} {run.Endpoint,-24} {m.Latency.P50Ms,8:0.000} {m.Latency.P90Ms,8:0.000} {m.Latency.P99Ms,8:0.000} {m.Latency.P999Ms,9:0.000} {m.Latency.MaxMs,9:0.000} {offered,10} {m.AchievedRps,10:0.#} {run.ReadingsPerSecond,10:0.#} {c.Ok,8} {c.ClientErrors,6} {c.RateLimited,6} {c.Unavailable,6} {c.ServerErrors + c.OtherStatus,6} {c.Timeouts + c.TransportErrors,8}  {rss}"));
    }

    private static void WriteMedian(string label, string endpoint, MedianSummary median, TextWriter output)
    {
        var rss = median.RssMaxMb is { } max ? Invariant($"max {max:0.0}") : string.Empty;
        output.WriteLine(Invariant(
            $"{label,-10} {endpoint,-24} {median.P50Ms,8:0.000} {median.P90Ms,8:0.000} {median.P99Ms,8:0.000} {median.P999Ms,9:0.000} {median.MaxMs,9:0.000} {string.Empty,10} {median.AchievedRps,10:0.#} {median.ReadingsPerSecond,10:0.#} {string.Empty,43}  {rss}"));
    }

    private static string Ratio(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
