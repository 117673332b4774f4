using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;

// How many rows a second a results store absorbs: the server's own queue and writer, fed at an
// offered rate (open loop, --rate rows/s; 0: as fast as the queue takes them) in chunks of
// --chunk rows (1 as /predict hands them over, 100 as a /predict-batch of 100) for --duration.
// "Absorbed" means no row dropped and the queue no deeper at the end than one second of the rate,
// so the writer kept up instead of filling the queue. One line of key=value results on stdout.
// --candidate NAME [--rows N] [--flush N] [--folder F]: one engine the store could be, measured alone (Candidates.cs).
if (args is ["--candidate", var candidate, ..])
{
    var rest = args.Skip(2).Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0].TrimStart('-'), p => p[1], StringComparer.Ordinal);
    return await Candidates.RunAsync(
        candidate,
        rest.GetValueOrDefault("folder", "bench-results/store-candidates"),
        long.Parse(rest.GetValueOrDefault("rows", "5000000"), CultureInfo.InvariantCulture),
        int.Parse(rest.GetValueOrDefault("flush", "50000"), CultureInfo.InvariantCulture));
}

var settings = Arguments.Parse(args);
var options = Options.Create(new ResultsOptions
{
    Store = settings.Store,
    Path = settings.Path,
    ConnectionString = settings.ConnectionString,
    WriteInterval = settings.WriteInterval ?? new ResultsOptions().WriteInterval,
});
using var meters = new Meters();
var metrics = new ResultsMetrics(meters);
var written = 0L;
var dropped = 0L;
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Meter.Name == ResultsMetrics.MeterName && instrument.Name is "written_total" or "dropped_total")
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
    Interlocked.Add(ref instrument.Name == "written_total" ? ref written : ref dropped, value));
listener.Start();

var queue = new ResultsQueue(options, metrics);
using var choice = new ResultsStoreChoice(options);
using var writer = new ResultsWriter(queue, choice, options, metrics, TimeProvider.System, new ErrorLogger<ResultsWriter>());
await writer.StartAsync(CancellationToken.None);

// 50 tools x 20 sensors, as bench/alerts.sh; --tools 0: no tool or sensor, as the LoadTest's readings.
string?[] tools = settings.Tools == 0 ? [null] : [.. Enumerable.Range(1, settings.Tools).Select(t => $"tool-{t:00}")];
string?[] sensors = settings.Tools == 0 ? [null] : [.. Enumerable.Range(1, 20).Select(s => $"sensor-{s:00}")];
var offered = 0L;
var clock = Stopwatch.StartNew();
while (clock.Elapsed < settings.Duration)
{
    // Open loop: what is due by now, whatever the writer is doing. As fast as possible (rate 0):
    // the queue is kept at most half full, so the writer, not the queue's bound, is the limit.
    var due = settings.Rate > 0 ? (long)(clock.Elapsed.TotalSeconds * settings.Rate) : long.MaxValue;
    while (offered < due && (settings.Rate > 0 || queue.QueuedRows < options.Value.QueueCapacity / 2))
    {
        if (queue.Rent(settings.Chunk) is { } chunk)
        {
            var now = DateTimeOffset.UtcNow;
            for (var i = 0; i < settings.Chunk; i++)
            {
                var n = offered + i;
                chunk.Records[i] = new PredictionRecord(
                    now, now, "bench", tools[n % tools.Length], sensors[n / tools.Length % sensors.Length], "sensor-anomaly", 1,
                    300 + (n % 100), 1013, 100, n % 1000 / 1000f, n % 50 == 0, 1.25, LatencyClass.ProcessControl, "bench");
            }

            queue.Enqueue(chunk);
        }

        offered += settings.Chunk;
    }

    await Task.Delay(1);
}

var elapsed = clock.Elapsed;
var queuedAtEnd = queue.QueuedRows;
var writtenInRun = Interlocked.Read(ref written);
await writer.StopAsync(CancellationToken.None);
var drained = clock.Elapsed - elapsed;
var droppedRows = Interlocked.Read(ref dropped);
var absorbed = droppedRows == 0 && (settings.Rate == 0 || queuedAtEnd <= settings.Rate);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"store={settings.Store} rate={settings.Rate} chunk={settings.Chunk} seconds={elapsed.TotalSeconds:F1} offered={offered} " +
    $"written_per_second={writtenInRun / elapsed.TotalSeconds:F0} dropped={droppedRows} queued_at_end={queuedAtEnd} drain_seconds={drained.TotalSeconds:F1} " +
    $"written_total={Interlocked.Read(ref written)} cpu_seconds={Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F1} absorbed={(absorbed ? "yes" : "no")}"));
return absorbed ? 0 : 1;

internal sealed class Meters : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose() => _meters.ForEach(m => m.Dispose());
}

internal sealed record Arguments(ResultsStoreKind Store, string Path, string? ConnectionString, int Rate, int Chunk, TimeSpan Duration, TimeSpan? WriteInterval, int Tools)
{
    public static Arguments Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);
        return new Arguments(
            Enum.Parse<ResultsStoreKind>(Get("store", "sqlite"), ignoreCase: true),
            Get("path", "bench-results/store-bench.db"),
            values.GetValueOrDefault("connection-string"),
            int.Parse(Get("rate", "0"), CultureInfo.InvariantCulture),
            int.Parse(Get("chunk", "1"), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(double.Parse(Get("seconds", "20"), CultureInfo.InvariantCulture)),
            values.TryGetValue("write-interval-ms", out var interval) ? TimeSpan.FromMilliseconds(double.Parse(interval, CultureInfo.InvariantCulture)) : null,
            int.Parse(Get("tools", "50"), CultureInfo.InvariantCulture));
    }
}

/// <summary>The writer's warnings and errors (a failed write, dropped rows), on standard error.</summary>
internal sealed class ErrorLogger<T> : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Console.Error.WriteLine($"{logLevel}: {formatter(state, exception)} {exception}");
        }
    }
}
