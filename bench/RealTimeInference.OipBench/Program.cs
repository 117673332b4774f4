using System.Globalization;
using System.Net;
using Grpc.Net.Client;
using RealTimeInference.Bench;
using RealTimeInference.OipBench;
using RealTimeInference.Server.OpenInference.Grpc;

// Open Inference Protocol (V2) against the server's own endpoints, closed loop: per repeat every case
// in turn (interleaved, so a slow spell of the machine hits all cases of a repeat alike), each a
// warm-up then a measured window with N workers. 1,000-row cases: /predict-batch (baseline), V2 REST
// JSON, V2 REST binary tensors, V2 gRPC raw_input_contents, V2 gRPC typed contents; single-row cases:
// /predict (baseline), V2 gRPC one row. Writes <case>.json and <case>.txt per case and summary.txt
// (medians, and ratios to the baseline of the same repeat) into --out.
var culture = CultureInfo.InvariantCulture;
var settings = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["--url"] = "http://127.0.0.1:8000",
    ["--grpc"] = "http://127.0.0.1:8001",
    ["--rows"] = "1000",
    ["--batch-workers"] = "8",
    ["--single-workers"] = "32",
    ["--duration-s"] = "5",
    ["--warmup-s"] = "2",
    ["--repeats"] = "3",
    ["--seed"] = "42",
    ["--grpc-channels"] = "1",
    ["--timeout-s"] = "30",
    ["--cases"] = "",
    ["--server-pid"] = "",
    ["--out"] = "",
};
if (!BenchOptions.TryApply(args, 0, settings))
{
    return 2;
}

int Int(string name) => int.Parse(settings[name], culture);
TimeSpan Seconds(string name) => TimeSpan.FromSeconds(double.Parse(settings[name], culture));
var batchWorkers = Int("--batch-workers");
var singleWorkers = Int("--single-workers");
var repeats = Int("--repeats");
var warmup = Seconds("--warmup-s");
var duration = Seconds("--duration-s");
var timeout = Seconds("--timeout-s");
int? serverPid = settings["--server-pid"] is { Length: > 0 } pid ? int.Parse(pid, culture) : null;
var outDir = settings["--out"];
if (outDir.Length > 0)
{
    Directory.CreateDirectory(outDir);
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

var payloads = new Payloads(Int("--rows"), Int("--seed"));
var maxWorkers = Math.Max(batchWorkers, singleWorkers);
using var http = new HttpClient(new SocketsHttpHandler
{
    MaxConnectionsPerServer = maxWorkers,
    UseProxy = false,
    AutomaticDecompression = DecompressionMethods.None,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
})
{
    BaseAddress = new Uri(settings["--url"]),
    Timeout = timeout,
};
var channels = Enumerable.Range(0, Int("--grpc-channels")).Select(_ => GrpcChannel.ForAddress(settings["--grpc"], new GrpcChannelOptions
{
    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan },
    DisposeHttpClient = true,
})).ToArray();
var clients = channels.Select(c => new GRPCInferenceService.GRPCInferenceServiceClient(c)).ToArray();
var selected = settings["--cases"].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var cases = new Cases(http, clients, payloads, timeout).All(batchWorkers, singleWorkers)
    .Where(c => selected.Length == 0 || selected.Contains(c.Name))
    .ToList();

Console.WriteLine($"OIP bench: {settings["--url"]} (REST) and {settings["--grpc"]} (gRPC, {channels.Length} channel(s)), {repeats} repeats x [{string.Join(", ", cases.Select(c => c.Name))}], "
    + $"{warmup.TotalSeconds:0.#} s warm-up + {duration.TotalSeconds:0.#} s measured each; workers: {batchWorkers} ({payloads.Rows}-row cases), {singleWorkers} (single-row); seed {settings["--seed"]}");
var runs = cases.ToDictionary(c => c.Name, _ => new List<RunResult>(), StringComparer.Ordinal);
for (var r = 1; r <= repeats && !stop.IsCancellationRequested; r++)
{
    foreach (var bench in cases)
    {
        var result = await Runner.RunAsync(bench, r, warmup, duration, serverPid, stop.Token);
        runs[bench.Name].Add(result);
        Console.WriteLine($"  repeat {r} {bench.Name,-15} {Report.Describe(result)}");
    }
}

foreach (var channel in channels)
{
    channel.Dispose();
}

var report = new Report(cases, runs, repeats);
var summary = report.Summary(settings["--url"], duration, warmup);
Console.WriteLine();
Console.WriteLine(summary);
if (outDir.Length > 0)
{
    foreach (var bench in cases)
    {
        await File.WriteAllTextAsync(Path.Combine(outDir, bench.Name + ".json"), report.Json(bench));
        await File.WriteAllTextAsync(Path.Combine(outDir, bench.Name + ".txt"), report.Text(bench));
    }

    await File.WriteAllTextAsync(Path.Combine(outDir, "summary.txt"), summary + "\n");
}

return report.AnyFailures ? 1 : 0;
