using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RealTimeInference.OipBench;

/// <summary>Per-run lines, per-case JSON and text, and the summary: medians, and ratios to the baseline run of the same repeat.</summary>
internal sealed class Report(IReadOnlyList<BenchCase> cases, IReadOnlyDictionary<string, List<RunResult>> runs, int repeats)
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public bool AnyFailures => runs.Values.SelectMany(r => r).Any(r => r.Refused + r.Errors > 0);

    public static string Describe(RunResult r) =>
        string.Create(Culture, $"{r.RequestsPerS,9:N1} req/s {r.ReadingsPerS,11:N0} readings/s  p50 {r.P50Ms,7:0.00} ms  p99 {r.P99Ms,7:0.00} ms  max {r.MaxMs,7:0.0} ms  ")
        + string.Create(Culture, $"requests {r.Requests}  non-ok {r.Refused}  errors {r.Errors}  cpu server {r.ServerCores:0.00} bench {r.BenchCores:0.00}")
        + Failures(r);

    public string Summary(string url, TimeSpan duration, TimeSpan warmup)
    {
        var text = new StringBuilder();
        text.AppendLine(Culture, $"== OIP V2 bench {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC against {url}: {repeats} repeats (cases interleaved), {duration.TotalSeconds:0.#} s measured after {warmup.TotalSeconds:0.#} s warm-up, {Environment.ProcessorCount} cores");
        text.AppendLine("medians over the repeats; x-base: median of the per-repeat ratios to the baseline case of the same repeat (readings/s; p99 for p99-x); cpu in cores");
        text.AppendLine(Culture, $"{"case",-15} {"rows",5} {"workers",7} {"req/s",9} {"readings/s",11} {"p50-ms",7} {"p99-ms",7} {"x-base",7} {"p99-x",6} {"non-ok",6} {"errors",6} {"server",6} {"bench",6}  runs x-base");
        foreach (var bench in cases)
        {
            var list = runs[bench.Name];
            if (list.Count == 0)
            {
                continue;
            }

            var ratios = Ratios(bench, r => r.ReadingsPerS);
            var p99Ratios = Ratios(bench, r => r.P99Ms);
            text.AppendLine(Culture, $"{bench.Name,-15} {bench.Rows,5} {bench.Workers,7} {Median(list, r => r.RequestsPerS),9:0.0} {Median(list, r => r.ReadingsPerS),11:0} "
                + $"{Median(list, r => r.P50Ms),7:0.00} {Median(list, r => r.P99Ms),7:0.00} {Ratio(ratios),7} {Ratio(p99Ratios),6} "
                + $"{list.Sum(r => r.Refused),6} {list.Sum(r => r.Errors),6} {Median(list, r => r.ServerCores),6:0.00} {Median(list, r => r.BenchCores),6:0.00}  "
                + $"{string.Join(' ', ratios.Select(x => x.ToString("0.00", Culture)))}");
        }

        foreach (var bench in cases.Where(c => runs[c.Name].Any(r => r.Refused + r.Errors > 0)))
        {
            text.AppendLine(Culture, $"!! {bench.Name} had failures:{string.Concat(runs[bench.Name].Select(r => $" [repeat {r.Repeat}:{Failures(r)}]"))}");
        }

        foreach (var name in new[] { "v2-binary", "v2-grpc", "v2-grpc-typed" })
        {
            Goal(text, name, Cases.PredictBatch);
        }

        if (Find("v2-grpc-single") is { } single && Find(Cases.Predict) is { } predict)
        {
            text.AppendLine(Culture, $"single row: v2-grpc-single {Median(runs[single.Name], r => r.RequestsPerS):0} req/s vs /predict {Median(runs[predict.Name], r => r.RequestsPerS):0} req/s "
                + $"({Ratio(Ratios(single, r => r.RequestsPerS))}), p99 {Median(runs[single.Name], r => r.P99Ms):0.00} ms vs {Median(runs[predict.Name], r => r.P99Ms):0.00} ms ({Ratio(Ratios(single, r => r.P99Ms))})");
        }

        return string.Join('\n', text.ToString().TrimEnd().Split('\n').Select(line => line.TrimEnd()));
    }

    public string Json(BenchCase bench)
    {
        var list = runs[bench.Name];
        return JsonSerializer.Serialize(
            new
            {
                Case = bench.Name,
                bench.Rows,
                bench.Workers,
                bench.Baseline,
                Runs = list,
                Median = new
                {
                    RequestsPerS = Median(list, r => r.RequestsPerS),
                    ReadingsPerS = Median(list, r => r.ReadingsPerS),
                    P50Ms = Median(list, r => r.P50Ms),
                    P99Ms = Median(list, r => r.P99Ms),
                    ServerCores = Median(list, r => r.ServerCores),
                    BenchCores = Median(list, r => r.BenchCores),
                },
                ReadingsRatioToBaseline = Ratios(bench, r => r.ReadingsPerS),
                P99RatioToBaseline = Ratios(bench, r => r.P99Ms),
                Refused = list.Sum(r => r.Refused),
                Errors = list.Sum(r => r.Errors),
            },
            JsonOptions);
    }

    public string Text(BenchCase bench) =>
        $"{bench.Name}: {bench.Rows} rows a request, {bench.Workers} workers, baseline {bench.Baseline}\n"
        + string.Concat(runs[bench.Name].Select(r => $"  repeat {r.Repeat}: {Describe(r)}\n"));

    private static string Failures(RunResult r) =>
        r.Refused + r.Errors == 0
            ? ""
            : "  FAILED:" + string.Concat(r.Refusals.Select(x => $" {x.Key} x{x.Value}")) + string.Concat(r.ErrorKinds.Select(x => $" error '{x.Key}' x{x.Value}"));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double Median(IEnumerable<RunResult> list, Func<RunResult, double> value) => Median(list.Select(value));

    private static string Ratio(double[] ratios) => ratios.Length == 0 ? "-" : Median(ratios).ToString("0.00", Culture) + "x";

    private BenchCase? Find(string name) => cases.FirstOrDefault(c => c.Name == name && runs[name].Count > 0);

    /// <summary>The case's value over its baseline's, repeat by repeat; none for the baseline itself.</summary>
    private double[] Ratios(BenchCase bench, Func<RunResult, double> value)
    {
        if (bench.Baseline == bench.Name || !runs.TryGetValue(bench.Baseline, out var baseline))
        {
            return [];
        }

        return [.. runs[bench.Name].Join(baseline, r => r.Repeat, b => b.Repeat, (r, b) => value(r) / value(b))];
    }

    private void Goal(StringBuilder text, string name, string baseline)
    {
        if (Find(name) is not { } bench || Find(baseline) is null)
        {
            return;
        }

        var ratios = Ratios(bench, r => r.ReadingsPerS);
        var failures = runs[name].Sum(r => r.Refused + r.Errors);
        var met = Median(ratios) >= 1.5 && failures == 0;
        // Three decimals: a median of 1.495 must not read as a "1.50x" that missed.
        text.AppendLine(Culture, $"goal {name} readings/s >= 1.5x {baseline}: {Median(ratios):0.000}x (runs {string.Join(' ', ratios.Select(x => x.ToString("0.000", Culture)))})"
            + $"{(failures > 0 ? $", {failures} failed requests" : "")}{(met ? " -> met" : " -> NOT met")}");
    }
}
