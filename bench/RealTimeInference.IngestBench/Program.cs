using System.Globalization;
using System.Text.Json;
using RealTimeInference.Bench;
using RealTimeInference.IngestBench;

// Broker ingestion end to end: readings published to RabbitMQ or MQTT, the server's results counted
// as they come back (published -> result received). Or, with --baseline true and no server, the
// broker alone: this process consumes what it publishes. A warm-up run, then --repeats measured
// runs; prints each and the medians, and writes them (with the server's /metrics changes) as JSON.
//   rabbitmq --uri amqp://... --readings-per-message N --messages M --in-flight K
//   mqtt --host H --port P --messages M --rate R (0: as fast as --in-flight QoS 1 publishes allow)
var culture = CultureInfo.InvariantCulture;
var modes = new[] { "rabbitmq", "mqtt" };
if (args.Length == 0 || !modes.Contains(args[0]))
{
    Console.Error.WriteLine("usage: IngestBench rabbitmq|mqtt [--option value]...");
    return 2;
}

var mode = args[0];
var settings = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["--uri"] = "amqp://guest:guest@127.0.0.1:5672/",
    ["--queue"] = "rti.readings",
    ["--readings-per-message"] = "1",
    ["--publishers"] = "1",
    ["--prefetch"] = "1024",
    ["--host"] = "127.0.0.1",
    ["--port"] = "1883",
    ["--rate"] = "0",
    ["--messages"] = "10000",
    ["--warmup-messages"] = "",
    ["--in-flight"] = "256",
    ["--repeats"] = "3",
    ["--stall-s"] = "30",
    ["--baseline"] = "false",
    ["--metrics"] = "",
    ["--cpu"] = "",
    ["--label"] = mode,
    ["--json"] = "",
};
if (!BenchOptions.TryApply(args, 1, settings))
{
    return 2;
}

int Int(string name) => int.Parse(settings[name], culture);
var messages = Int("--messages");
var warmup = settings["--warmup-messages"] is { Length: > 0 } w ? int.Parse(w, culture) : Math.Max(1, messages / 4);
var inFlight = Int("--in-flight");
var repeats = Int("--repeats");
var rate = double.Parse(settings["--rate"], culture);
var baseline = bool.Parse(settings["--baseline"]);
var stall = TimeSpan.FromSeconds(Int("--stall-s"));
// --cpu server=PID,broker=PID: their CPU over each run, next to this process's own.
var pids = settings["--cpu"].Split(',', StringSplitOptions.RemoveEmptyEntries)
    .Select(p => p.Split('='))
    .ToDictionary(p => p[0], p => int.Parse(p[1], culture), StringComparer.Ordinal);
var cpu = new CpuSampler(pids);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

await using ITarget target = mode == "rabbitmq"
    ? await RabbitTarget.ConnectAsync(
        new Uri(settings["--uri"]), settings["--queue"], Int("--readings-per-message"), Int("--publishers"), ushort.Parse(settings["--prefetch"], culture), baseline, stop.Token)
    : await MqttTarget.ConnectAsync(settings["--host"], Int("--port"), baseline, stop.Token);

var label = settings["--label"];
var run = Guid.NewGuid().ToString("N")[..6];
Console.WriteLine($"## {label}: {mode}{(baseline ? " broker-only baseline" : "")}, {messages} messages x {target.ReadingsPerMessage} readings, in flight {inFlight}, rate {(rate > 0 ? rate.ToString(culture) + "/s" : "max")}");
var warm = await Load.RunAsync(target, new Tracker($"{run}w-", warmup), inFlight, rate, stall, cpu, stop.Token);
Console.WriteLine($"  warm-up: {Describe(warm)}");

using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
var before = await ServerMetrics.ScrapeAsync(http, settings["--metrics"], stop.Token);
var runs = new List<RunResult>();
for (var r = 0; r < repeats; r++)
{
    var result = await Load.RunAsync(target, new Tracker($"{run}r{r}-", messages), inFlight, rate, stall, cpu, stop.Token);
    runs.Add(result);
    Console.WriteLine($"  run {r + 1}: {Describe(result)}");
}

var settled = await ServerMetrics.SettleAsync(http, settings["--metrics"], mode, stall, stop.Token);
var after = await ServerMetrics.ScrapeAsync(http, settings["--metrics"], stop.Token);
var median = new Dictionary<string, double>(StringComparer.Ordinal)
{
    ["readings_per_s"] = Stats.Median(runs.Select(x => x.ReadingsPerSecond)),
    ["messages_per_s"] = Stats.Median(runs.Select(x => x.MessagesPerSecond)),
    ["p50_ms"] = Stats.Median(runs.Select(x => x.P50Ms)),
    ["p99_ms"] = Stats.Median(runs.Select(x => x.P99Ms)),
    ["scheduled_p50_ms"] = Stats.Median(runs.Select(x => x.ScheduledP50Ms)),
    ["scheduled_p99_ms"] = Stats.Median(runs.Select(x => x.ScheduledP99Ms)),
};
foreach (var name in runs.SelectMany(x => x.CpuCores.Keys).Distinct())
{
    median["cpu_" + name] = Stats.Median(runs.Select(x => x.CpuCores.GetValueOrDefault(name, double.NaN)));
}

var complete = runs.All(x => x.Complete);
Console.WriteLine($"  median: {median["readings_per_s"]:N0} readings/s, {median["messages_per_s"]:N0} msg/s, p50 {median["p50_ms"]:0.00} ms, p99 {median["p99_ms"]:0.00} ms"
    + (rate > 0 ? $" (from schedule: p50 {median["scheduled_p50_ms"]:0.00}, p99 {median["scheduled_p99_ms"]:0.00})" : "")
    + $", cpu {string.Join(' ', median.Where(m => m.Key.StartsWith("cpu_", StringComparison.Ordinal)).Select(m => $"{m.Key[4..]}={m.Value:0.00}"))}"
    + (complete ? "" : "  [INCOMPLETE: some results never came]"));

Dictionary<string, object?>? server = null;
if (before is not null && after is not null)
{
    var delta = ServerMetrics.Delta(before, after);
    server = new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["batch_rows"] = ServerMetrics.Histogram(delta, "rti_inference_batch_rows", "model=\"sensor-anomaly\""),
        ["batch_requests"] = ServerMetrics.Histogram(delta, "rti_inference_batch_requests", "model=\"sensor-anomaly\""),
        ["message_readings"] = ServerMetrics.Histogram(delta, "rti_ingest_message_readings", "transport="),
        ["settle_s"] = settled,
        ["ingest_messages"] = delta.Where(d => d.Key.StartsWith("rti_ingest_messages_total", StringComparison.Ordinal)).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal),
        ["changed"] = delta,
    };
    Console.WriteLine(settled > stall.TotalSeconds
        ? $"  server: messages still unacknowledged {settled:0.0} s after the last result came back"
        : $"  server: every message acknowledged {settled:0.0} s after the last result came back");
    foreach (var name in new[] { "batch_rows", "batch_requests" })
    {
        if (server[name] is HistogramDelta h)
        {
            Console.WriteLine($"  server {name} per model run: {h.Count:0} runs, mean {h.Mean:0.0}, p50 {h.P50}, p90 {h.P90}, p99 {h.P99}");
        }
    }

    foreach (var (key, value) in (Dictionary<string, double>)server["ingest_messages"]!)
    {
        Console.WriteLine($"  server {key}: +{value:0}");
    }
}

if (settings["--json"] is { Length: > 0 } json)
{
    var document = new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["label"] = label,
        ["mode"] = mode,
        ["baseline"] = baseline,
        ["readings_per_message"] = target.ReadingsPerMessage,
        ["messages"] = messages,
        ["in_flight"] = inFlight,
        ["rate"] = rate,
        ["complete"] = complete,
        ["median"] = median,
        ["runs"] = runs,
        ["warmup"] = warm,
        ["server"] = server,
    };
    await File.WriteAllTextAsync(json, JsonSerializer.Serialize(document, Output.Json), stop.Token);
}

return complete ? 0 : 1;

string Describe(RunResult x) =>
    $"{x.ReadingsPerSecond:N0} readings/s ({x.Received}/{x.Messages} msgs in {x.Seconds:0.000} s), p50 {x.P50Ms:0.00} ms, p99 {x.P99Ms:0.00} ms, max {x.MaxMs:0.00} ms"
    + (rate > 0 ? $", from schedule p50 {x.ScheduledP50Ms:0.00} p99 {x.ScheduledP99Ms:0.00}" : "")
    + (x.Duplicates + x.Strays + x.PublishErrors > 0 ? $", duplicates {x.Duplicates}, strays {x.Strays}, publish errors {x.PublishErrors}" : "")
    + $", cpu {string.Join(' ', x.CpuCores.Select(c => $"{c.Key}={c.Value:0.00}"))}";

internal static class Output
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
