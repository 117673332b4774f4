using System.Globalization;
using System.Text.Json;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Options;
using RealTimeInference.LoadTest.Reporting;
using RealTimeInference.LoadTest.Runners;
using RealTimeInference.LoadTest.Server;

namespace RealTimeInference.LoadTest;

/// <summary>
/// One invocation: optionally launch the server and time it to ready, then per scenario a server warm-up on
/// both endpoints, the probe if asked, and a baseline run then a target run for each repeat; then the table,
/// the JSON, and the exit code.
/// </summary>
internal sealed class BenchmarkSession(LoadOptions options, TextWriter output, TextWriter progress, TimeProvider time)
{
    private const string TargetRole = "target";
    private const string BaselineRole = "baseline";

    private static readonly TimeSpan ReadyPollInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan UnreachableAfter = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ProbeWarmup = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        ServerProcess? server = null;
        RssSampler? sessionRss = null;
        try
        {
            TimeSpan? startToReady = null;
            if (options.LaunchCommand is { } command)
            {
                if (await AlreadyAnsweringAsync(cancellationToken).ConfigureAwait(false))
                {
                    Progress($"error: something already answers at {options.BaseUrl}; stop it or pick another --url and port, so the launched server is the one measured");
                    return ExitCodes.Unreachable;
                }

                var log = options.ServerLog ?? Path.Combine(Path.GetTempPath(), $"rti-loadtest-server-{Environment.ProcessId}.log");
                Progress($"launching: {command}  (output: {log})");
                server = ServerProcess.Start(command, log);
                var launched = server;
                var ready = await WaitReadyAsync(_ => launched.HasExited, cancellationToken).ConfigureAwait(false);
                if (!ready.Ready)
                {
                    Progress($"error: the launched server was not ready after {ready.Elapsed.TotalSeconds:0.0}s " +
                             $"(exited: {launched.HasExited}, last status: {ready.LastStatus?.ToString(CultureInfo.InvariantCulture) ?? "none"}, last error: {ready.LastError ?? "none"})");
                    Progress(launched.LogTail(30));
                    return ExitCodes.Unreachable;
                }

                startToReady = ready.Elapsed;
                sessionRss = RssSampler.Start(launched.Id, options.RssInterval, time);
                Progress($"server ready in {ready.Elapsed.TotalMilliseconds:0.0} ms (pid {launched.Id})");
            }
            else
            {
                var ready = await WaitReadyAsync(r => r.LastStatus is null ? r.Elapsed >= UnreachableAfter : r.LastStatus == 404, cancellationToken)
                    .ConfigureAwait(false);
                if (ready.Unreachable)
                {
                    Progress($"error: {options.BaseUrl} is unreachable: {ready.LastError}");
                    return ExitCodes.Unreachable;
                }

                if (!ready.Ready)
                {
                    Progress($"warning: GET /health/ready answered {ready.LastStatus}; running anyway");
                }

                if (options.ServerPid is { } pid)
                {
                    sessionRss = RssSampler.Start(pid, options.RssInterval, time);
                }
            }

            var pidToSample = server?.Id ?? options.ServerPid;
            var scenarios = new List<ScenarioReport>();
            foreach (var scenario in options.Scenarios)
            {
                scenarios.Add(await RunScenarioAsync(scenario, pidToSample, cancellationToken).ConfigureAwait(false));
            }

            var rss = sessionRss is null ? null : await sessionRss.StopAsync().ConfigureAwait(false);
            LaunchInfo? launch = null;
            if (server is not null)
            {
                var (elapsed, exitCode) = await server.StopAsync(StopGrace).ConfigureAwait(false);
                launch = new LaunchInfo(options.LaunchCommand!, server.LogPath, Math.Round(startToReady!.Value.TotalMilliseconds, 1), Math.Round(elapsed.TotalMilliseconds, 1), exitCode);
            }

            var report = new BenchmarkReport(
                startedAt,
                options.BaseUrl.ToString(),
                options.Mode == LoadMode.Closed ? "closed" : "open",
                options.Connections,
                options.Duration.TotalSeconds,
                options.Warmup.TotalSeconds,
                options.Repeats,
                options.BatchSize,
                options.Seed,
                options.ServerPid,
                launch,
                rss,
                scenarios);
            ReportTable.Write(report, output);
            await WriteJsonAsync(report, cancellationToken).ConfigureAwait(false);
            return scenarios.All(s => s.Runs.Any(r => r.Role == TargetRole && r.Measurement.Counts.Ok > 0))
                ? ExitCodes.Success
                : ExitCodes.NoSuccessfulResponses;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Progress("cancelled");
            return ExitCodes.Cancelled;
        }
        finally
        {
            if (sessionRss is not null)
            {
                await sessionRss.DisposeAsync().ConfigureAwait(false);
            }

            if (server is not null && !server.HasExited)
            {
                await server.StopAsync(StopGrace).ConfigureAwait(false);
            }

            server?.Dispose();
        }
    }

    private async Task<ScenarioReport> RunScenarioAsync(ScenarioKind scenario, int? pid, CancellationToken cancellationToken)
    {
        var name = RequestFactory.Name(scenario);
        var (targetPath, baselinePath) = RequestFactory.Paths(scenario);
        var perRequest = options.ReadingsPerRequest(scenario);
        var bodies = scenario == ScenarioKind.Wafer
            ? RequestFactory.CreateImages(options.ImageSize, options.Seed)
            : RequestFactory.CreateBodies(scenario, options.BatchSize, options.Seed);
        var target = scenario switch
        {
            ScenarioKind.Wafer => new RequestSource(Endpoint(targetPath), bodies, perRequest, "image/png"),
            ScenarioKind.WsJson => new RequestSource(Endpoint(targetPath), bodies, perRequest, transport: Transport.WebSocketText),
            ScenarioKind.WsBinary => new RequestSource(
                Endpoint(targetPath), RequestFactory.CreateFrames(options.BatchSize, options.Seed), perRequest, transport: Transport.WebSocketBinary),
            ScenarioKind.SseSubscribers => new RequestSource(Endpoint(targetPath), bodies, perRequest, subscribers: options.Subscribers),
            _ => new RequestSource(Endpoint(targetPath), bodies, perRequest),
        };
        var baseline = options.Baseline && baselinePath is not null ? new RequestSource(Endpoint(baselinePath), bodies, perRequest) : null;

        if (options.Warmup > TimeSpan.Zero)
        {
            // A fresh server JITs on its first requests; warm both paths so neither the probe nor the first
            // measured run (always the baseline) pays for it.
            Progress($"[{name}] warming the server: {DurationParser.Format(options.Warmup)} closed loop on each endpoint");
            foreach (var endpoint in baseline is null ? [target] : new[] { target, baseline })
            {
                await MeasureAsync(endpoint, rate: null, TimeSpan.Zero, options.Warmup, cancellationToken).ConfigureAwait(false);
            }
        }

        var rate = options.Rate;
        ProbeResult? probe = null;
        if (options.Mode == LoadMode.Open && options.RateFraction is { } fraction)
        {
            var probeConnections = options.ProbeConnections ?? options.Connections;
            Progress($"[{name}] probing the max rate of {targetPath}: closed loop, {probeConnections} connections, {DurationParser.Format(options.ProbeDuration)}");
            var probed = await MeasureAsync(
                target, rate: null, Min(ProbeWarmup, options.Warmup), options.ProbeDuration, cancellationToken, probeConnections).ConfigureAwait(false);
            rate = probed.AchievedRps * fraction;
            probe = new ProbeResult(Math.Round(probed.AchievedRps, 1), fraction, Math.Round(rate.Value, 1), probed);
            Progress($"[{name}] max {probed.AchievedRps:0.#} requests/s; open loop at {rate:0.#} requests/s");
        }

        var runs = new List<RunResult>();
        if (rate is not <= 0)
        {
            for (var repeat = 1; repeat <= options.Repeats; repeat++)
            {
                if (baseline is not null)
                {
                    runs.Add(await RunOnceAsync(name, BaselineRole, repeat, baseline, baselinePath!, rate, pid, cancellationToken).ConfigureAwait(false));
                }

                // The wafer answers carry the server's own breakdown: a fresh collector per measured run.
                var measured = scenario == ScenarioKind.Wafer ? new RequestSource(target.Uri, bodies, perRequest, target.ContentType, new ServerTimings()) : target;
                runs.Add(await RunOnceAsync(name, TargetRole, repeat, measured, targetPath, rate, pid, cancellationToken).ConfigureAwait(false));
            }
        }
        else
        {
            Progress($"[{name}] error: the probe got no successful response, so there is no rate to run at");
        }

        var targetMedian = Medians.Summarize([.. runs.Where(r => r.Role == TargetRole)]);
        var baselineMedian = baseline is null ? null : Medians.Summarize([.. runs.Where(r => r.Role == BaselineRole)]);
        return new ScenarioReport(
            name,
            options.Mode == LoadMode.Closed ? "closed" : "open",
            targetPath,
            baseline is null ? null : baselinePath,
            perRequest,
            rate is { } r ? Math.Round(r, 1) : null,
            probe,
            runs,
            targetMedian,
            baselineMedian,
            baselineMedian is null ? null : Medians.Compare(targetMedian, baselineMedian));
    }

    private async Task<RunResult> RunOnceAsync(
        string scenario, string role, int repeat, RequestSource source, string path, double? rate, int? pid, CancellationToken cancellationToken)
    {
        var rss = pid is { } p ? RssSampler.Start(p, options.RssInterval, time) : null;
        RunMeasurement measurement;
        RssSummary? rssSummary = null;
        try
        {
            measurement = await MeasureAsync(source, rate, options.Warmup, options.Duration, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (rss is not null)
            {
                rssSummary = await rss.StopAsync().ConfigureAwait(false);
                await rss.DisposeAsync().ConfigureAwait(false);
            }
        }

        var m = measurement.Latency;
        var c = measurement.Counts;
        Progress($"[{scenario}] repeat {repeat}/{options.Repeats} {role,-8} {path}: p50 {m.P50Ms:0.000} ms, p99 {m.P99Ms:0.000} ms, 2xx p99 {measurement.OkLatency?.P99Ms:0.000} ms, " +
                 $"{measurement.AchievedRps:0.#} ok/s, 2xx {c.Ok}, non-2xx {c.Responses - c.Ok}, errors {c.Timeouts + c.TransportErrors}");
        var timings = source.Timings?.Summary();
        if (timings is not null)
        {
            Progress($"[{scenario}] repeat {repeat}/{options.Repeats} server breakdown (incl. warm-up): preprocess p50 {timings.Preprocess.P50Ms:0.000} ms " +
                     $"p99 {timings.Preprocess.P99Ms:0.000} ms, queue p50 {timings.Queue.P50Ms:0.000} ms p99 {timings.Queue.P99Ms:0.000} ms, " +
                     $"inference p50 {timings.Inference.P50Ms:0.000} ms p99 {timings.Inference.P99Ms:0.000} ms, {timings.MeanBatchImages:0.0} images a model run");
        }

        return new RunResult(role, repeat, path, source.ReadingsPerRequest, measurement, rssSummary, timings);
    }

    private async Task<RunMeasurement> MeasureAsync(
        RequestSource source, double? rate, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken, int? connections = null)
    {
        if (source.Transport != Transport.Http)
        {
            return await new SocketRunner(time, options.Headers)
                .RunAsync(source, options.Connections, options.Pipeline, warmup, duration, cancellationToken)
                .ConfigureAwait(false);
        }

        var subscribers = source.Subscribers > 0
            ? await SseSubscribers.OpenAsync(Endpoint("/stream-predictions"), source.Subscribers, cancellationToken).ConfigureAwait(false)
            : null;
        try
        {
            var pool = connections ?? options.Connections;
            using var client = LoadHttpClient.Create(pool);
            foreach (var (name, value) in options.Headers)
            {
                client.DefaultRequestHeaders.Add(name, value);
            }

            var sender = new RequestSender(client, options.RequestTimeout, time);
            return rate is { } r
                ? await new OpenLoopRunner(sender, time)
                    .RunAsync(source, r, warmup, duration, options.MaxOutstanding, options.RequestTimeout, cancellationToken)
                    .ConfigureAwait(false)
                : await new ClosedLoopRunner(sender, time)
                    .RunAsync(source, pool, warmup, duration, cancellationToken)
                    .ConfigureAwait(false);
        }
        finally
        {
            if (subscribers is not null)
            {
                var (events, dropped, failed) = await subscribers.StopAsync().ConfigureAwait(false);
                Progress($"  {source.Subscribers} SSE subscribers received {events} events in all; told of {dropped} dropped; {failed} failed");
            }
        }
    }

    private async Task<ReadinessResult> WaitReadyAsync(Func<ReadinessResult, bool> giveUp, CancellationToken cancellationToken)
    {
        using var client = LoadHttpClient.Create(1);
        return await ReadinessProbe
            .WaitAsync(client, Endpoint("/health/ready"), options.ReadyTimeout, ReadyPollInterval, time, giveUp, cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task<bool> AlreadyAnsweringAsync(CancellationToken cancellationToken)
    {
        var once = await WaitReadyAsync(_ => true, cancellationToken).ConfigureAwait(false);
        return !once.Unreachable;
    }

    private async Task WriteJsonAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        if (options.JsonPath is not { } path)
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var stream = File.Create(path);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, report, ReportJsonContext.Default.BenchmarkReport, cancellationToken).ConfigureAwait(false);
        }

        Progress($"wrote {path}");
    }

    private Uri Endpoint(string path)
    {
        var root = options.BaseUrl.AbsoluteUri.EndsWith('/') ? options.BaseUrl : new Uri(options.BaseUrl.AbsoluteUri + "/");
        return new Uri(root, path.TrimStart('/'));
    }

    private void Progress(string message) => progress.WriteLine(message);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
